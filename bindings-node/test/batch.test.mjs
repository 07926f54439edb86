import assert from 'node:assert/strict'
import { before, test } from 'node:test'
import { Client, Secret, SecretkitError } from 'secretkit'
import { createSecret, putParameter, uniqueName } from './aws.mjs'

// 25 SSM parameters and 25 Secrets Manager secrets of our own.
const SSM_PREFIX = `/${uniqueName('sk-node-batch')}`
const ASM_PREFIX = uniqueName('sk-node-batch')
const ssmRefs = Array.from({ length: 25 }, (_, i) => `ssm:${SSM_PREFIX}/p${i}`)
const asmRefs = Array.from({ length: 25 }, (_, i) => `asm:${ASM_PREFIX}/s${i}`)
const expected = (ref) => `value of ${ref}`

before(async () => {
  await Promise.all([
    ...ssmRefs.map((ref) => putParameter(ref.slice('ssm:'.length), expected(ref))),
    ...asmRefs.map((ref) => createSecret(ref.slice('asm:'.length), expected(ref))),
  ])
})

const calls = (client) => client.stats().backendCalls

test('getMany of 25 SSM + 25 ASM names: 3 SSM calls, 2 Secrets Manager calls', async () => {
  const client = Client.fromEnv()
  const refs = [...ssmRefs, ...asmRefs]
  const secrets = await client.getMany(refs)
  assert.equal(secrets.length, 50)
  secrets.forEach((s, i) => {
    assert.ok(s instanceof Secret)
    assert.equal(s.reference, refs[i])
    assert.equal(s.reveal(), expected(refs[i]))
  })
  assert.deepEqual(calls(client), { ssm: 3, asm: 2, vault: 0, env: 0, file: 0 })
  // Now every one is a hit.
  for (const ref of refs) assert.equal((await client.get(ref)).reveal(), expected(ref))
  const stats = client.stats()
  assert.deepEqual(stats.backendCalls, { ssm: 3, asm: 2, vault: 0, env: 0, file: 0 })
  assert.equal(stats.misses, 50)
  assert.equal(stats.hits, 50)
})

test('getMany rejects with the first failure, or settles each in place', async () => {
  const client = Client.fromEnv()
  const refs = [ssmRefs[0], 'ssm:/sk-node/missing', 'nope:x', asmRefs[0]]
  await assert.rejects(client.getMany(refs), (err) => {
    assert.ok(err instanceof SecretkitError)
    assert.equal(err.code, 'NOT_FOUND')
    assert.equal(err.reference, 'ssm:/sk-node/missing')
    return true
  })
  const settled = await client.getMany(refs, { settled: true })
  assert.equal(settled[0].reveal(), expected(ssmRefs[0]))
  assert.ok(settled[1] instanceof SecretkitError)
  assert.equal(settled[1].code, 'NOT_FOUND')
  assert.ok(settled[2] instanceof SecretkitError)
  assert.equal(settled[2].code, 'INVALID_REFERENCE')
  assert.equal(settled[2].reference, 'nope:x')
  assert.equal(settled[3].reveal(), expected(asmRefs[0]))
  assert.deepEqual(await client.getMany([]), [])
})

test('prefetch loads a prefix; the reads after it make no backend calls', async () => {
  const client = Client.fromEnv()
  assert.equal(await client.prefetch(`ssm:${SSM_PREFIX}/`), 25)
  assert.equal(await client.prefetch(`asm:${ASM_PREFIX}/`), 25)
  const before = calls(client)
  assert.ok(before.ssm >= 1 && before.asm >= 1, JSON.stringify(before))
  for (const ref of [...ssmRefs, ...asmRefs]) assert.equal((await client.get(ref)).reveal(), expected(ref))
  assert.deepEqual(calls(client), before)
  assert.equal(client.stats().misses, 0)
})

test('prefetch of a non-AWS prefix is a typed error', async () => {
  await assert.rejects(Client.fromEnv().prefetch('vault:secret/myapp/'), { code: 'CONFIG' })
  await assert.rejects(Client.fromEnv().prefetch('nope'), { code: 'INVALID_REFERENCE' })
})

test('stats() is a plain object of numbers', async () => {
  const client = Client.fromEnv()
  assert.deepEqual(client.stats(), {
    hits: 0,
    misses: 0,
    refreshes: 0,
    staleServes: 0,
    errors: 0,
    backendCalls: { ssm: 0, asm: 0, vault: 0, env: 0, file: 0 },
  })
  await assert.rejects(client.get('ssm:/sk-node/missing'), { code: 'NOT_FOUND' })
  assert.equal(client.stats().errors, 1)
  assert.equal(client.stats().misses, 1)
})
