import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Client } from 'secretkit'
import { putParameter, uniqueName } from './aws.mjs'
import { SSM_PASSWORD, nextEvent, sleep } from './helpers.mjs'

test('refresh picks up a put-parameter the cache would have hidden', async () => {
  const name = `/${uniqueName('sk-node-refresh')}`
  await putParameter(name, 'one')
  const client = Client.fromEnv()
  assert.equal((await client.get(`ssm:${name}`)).reveal(), 'one')
  await putParameter(name, 'two')
  assert.equal((await client.get(`ssm:${name}`)).reveal(), 'one')
  const refreshed = await client.refresh(`ssm:${name}`)
  assert.equal(refreshed.reveal(), 'two')
  assert.equal(refreshed.version, '2')
  assert.equal((await client.get(`ssm:${name}`)).reveal(), 'two')
  assert.equal(client.stats().backendCalls.ssm, 2)
  await assert.rejects(client.refresh('ssm:/sk-node/missing'), { code: 'NOT_FOUND' })
})

test('serial memo: repeated hits give the same Secret object, a refresh a new one', async () => {
  const client = Client.fromEnv()
  const ref = 'ssm:/prod/myapp/db-password'
  const first = await client.get(ref)
  const again = await client.get(ref)
  assert.equal(again, first)
  assert.equal(await client.get(ref), first)
  // Another spelling of the same entry is its own Secret (its own reference).
  const field = await client.get('asm:prod/myapp/db-credentials#username')
  assert.equal(await client.get('asm:prod/myapp/db-credentials#username'), field)
  assert.notEqual(await client.get('asm:prod/myapp/db-credentials#password'), field)

  const refreshed = await client.refresh(ref)
  assert.notEqual(refreshed, first)
  assert.equal(refreshed.reveal(), SSM_PASSWORD)
  const after = await client.get(ref)
  assert.equal(after, refreshed)
  assert.ok(after.fetchedAt >= first.fetchedAt)
  client.invalidate(ref)
  const reread = await client.get(ref)
  assert.notEqual(reread, refreshed)
  assert.equal(await client.get(ref), reread)
  assert.equal(client.stats().backendCalls.ssm, 3)
})

test('the memo never hides a value that changed behind it', async () => {
  const client = Client.fromEnv()
  process.env.SK_NODE_MEMO_TEST = 'a'
  const a = await client.get('env:SK_NODE_MEMO_TEST')
  process.env.SK_NODE_MEMO_TEST = 'b'
  client.clear()
  const b = await client.get('env:SK_NODE_MEMO_TEST')
  assert.notEqual(b, a)
  assert.equal(b.reveal(), 'b')
})

test('refresh ahead: a late hit is answered from the cache and refreshed in the background', async () => {
  // ttlJitter 0: no jitter and no start-up spread (a first TTL of 0.5 to 1 s
  // could end before the 600 ms below).
  const client = Client.fromEnv({ defaultTtl: 1, refreshAhead: 0.5, ttlJitter: 0 })
  const ref = 'ssm:/prod/myapp/db-password'
  const first = await client.get(ref)
  await sleep(600)
  const refreshed = nextEvent(client, 'refreshed')
  const started = performance.now()
  const hit = await client.get(ref)
  const waited = performance.now() - started
  assert.equal(hit, first, 'served the cached read')
  assert.ok(waited < 50, `a hit waited ${waited} ms`)
  const event = await refreshed
  assert.equal(event.reference, ref)
  assert.equal(event.oldVersion, '1')
  assert.equal(event.newVersion, '1')
  const stats = client.stats()
  assert.equal(stats.refreshes, 1)
  assert.equal(stats.misses, 1)
  assert.equal(stats.backendCalls.ssm, 2)
  // The next hit hands out the refreshed read.
  const next = await client.get(ref)
  assert.notEqual(next, first)
  assert.ok(next.fetchedAt > first.fetchedAt)
})

test('the memo stays bounded and never mixes up references past its 4096 limit', async () => {
  const client = Client.fromEnv()
  process.env.SK_NODE_MEMO_BOUND = '{"a":"first","b":"second"}'
  // 5000 spellings of one cache entry: two fields, each with its own ?ttl=.
  const refs = Array.from({ length: 5000 }, (_, i) => `env:SK_NODE_MEMO_BOUND?ttl=${3600 + i}s#${'ab'[i % 2]}`)
  for (let round = 0; round < 2; round++) {
    for (const [i, ref] of refs.entries()) {
      const secret = await client.get(ref)
      assert.equal(secret.reference, ref)
      assert.equal(secret.reveal(), i % 2 ? 'second' : 'first')
    }
  }
  const last = refs.at(-1)
  assert.equal(await client.get(last), await client.get(last))
  assert.equal(client.stats().backendCalls.env, 1)
})
