import assert from 'node:assert/strict'
import { test } from 'node:test'
import { inspect } from 'node:util'
import { Client, SecretkitError } from 'secretkit'
import { SSM_PASSWORD, explicitClient, rejection } from './helpers.mjs'

const client = Client.fromEnv()

/** Every rendering of an error, none of which may hold a secret value. */
function renderings(err) {
  return [err.message, String(err), err.stack, inspect(err), JSON.stringify(err)].join('\n')
}

test('missing secret: NOT_FOUND naming the reference', async () => {
  for (const ref of ['ssm:/prod/myapp/missing', 'asm:prod/myapp/missing', 'vault:secret/myapp/missing']) {
    const err = await rejection(client.get(ref))
    assert.ok(err instanceof SecretkitError, ref)
    assert.ok(err instanceof Error)
    assert.equal(err.name, 'SecretkitError')
    assert.equal(err.code, 'NOT_FOUND', ref)
    assert.equal(err.kind, 'not_found')
    assert.equal(err.reference, ref)
    assert.ok(err.message.includes(ref), err.message)
  }
})

test('invalid reference: INVALID_REFERENCE from get, invalidate and parseReference', async () => {
  const err = await rejection(client.get('nope:x'))
  assert.ok(err instanceof SecretkitError)
  assert.equal(err.code, 'INVALID_REFERENCE')
  assert.equal(err.kind, 'invalid_reference')
  assert.equal(err.reference, 'nope:x')
  assert.throws(() => client.invalidate('ssm'), { code: 'INVALID_REFERENCE' })
})

test('#field of a non-JSON secret: typed error without the value', async () => {
  const ref = 'ssm:/prod/myapp/db-password#password'
  const err = await rejection(client.get(ref))
  assert.ok(err instanceof SecretkitError)
  assert.equal(err.code, 'INVALID_RESPONSE')
  assert.equal(err.reference, ref)
  assert.ok(!renderings(err).includes(SSM_PASSWORD))
})

test('missing #field of a JSON secret: typed error without the value', async () => {
  const ref = 'asm:prod/myapp/db-credentials#nope'
  const err = await rejection(client.get(ref))
  assert.ok(err instanceof SecretkitError)
  assert.equal(err.code, 'NOT_FOUND')
  assert.equal(err.reference, ref)
  const shown = renderings(err)
  assert.ok(!shown.includes(SSM_PASSWORD) && !shown.includes('app_user'), shown)
})

test('Vault unreachable: UNAVAILABLE quickly, no hang', async () => {
  const c = new Client({ vault: { address: 'http://127.0.0.1:1', token: 'unused' }, timeout: 3 })
  const started = Date.now()
  const err = await rejection(c.get('vault:secret/myapp/config#api_key'))
  assert.ok(err instanceof SecretkitError)
  assert.equal(err.code, 'UNAVAILABLE')
  assert.equal(err.kind, 'unavailable')
  assert.equal(err.reference, 'vault:secret/myapp/config#api_key')
  assert.ok(Date.now() - started < 5_000, 'took too long')
  assert.ok(!renderings(err).includes('unused'))
})

test('bad options are CONFIG errors', () => {
  assert.throws(() => new Client({ defaultTtl: -1 }), { code: 'CONFIG', kind: 'config' })
  assert.throws(() => Client.fromEnv({ timeout: Number.NaN }), { code: 'CONFIG' })
  assert.throws(() => new Client({ vault: { address: 'http://127.0.0.1:1', token: '' } }), { code: 'CONFIG' })
  assert.throws(() => explicitClient({ timeout: -5 }), SecretkitError)
})

test('a wrong argument type is a plain TypeError-like error, not a crash', async () => {
  await assert.rejects(client.get(42))
})
