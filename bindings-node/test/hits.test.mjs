// The JS-side hit path (index.js #repeat, src/hits.rs, core Handle::window):
// a memoized Secret is handed out again without a native call only while
// the client's generation is unchanged and its window has not passed.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Client } from 'secretkit'
import { putParameter, uniqueName } from './aws.mjs'
import { nextEvent, rejection, sleep } from './helpers.mjs'

test('a change to a shared entry made through another spelling is seen by the next hit', async () => {
  const name = `/${uniqueName('sk-node-hits')}`
  await putParameter(name, 'one')
  const client = Client.fromEnv({ defaultTtl: 3600 })
  const plain = `ssm:${name}`
  const other = `ssm:${name}?ttl=2h`
  assert.equal((await client.get(plain)).reveal(), 'one')
  assert.equal((await client.get(plain)).reveal(), 'one', 'a hit: its window now runs for most of an hour')
  await putParameter(name, 'two')
  // Refreshing the other spelling stores into the same entry: the plain
  // reference's window is still open, the generation is not.
  assert.equal((await client.refresh(other)).reveal(), 'two')
  assert.equal((await client.get(plain)).reveal(), 'two')
  assert.equal(client.getCached(plain).reveal(), 'two')

  await putParameter(name, 'three')
  client.invalidate(other)
  assert.equal((await client.get(plain)).reveal(), 'three', 'invalidate through the other spelling')
  assert.equal(client.stats().backendCalls.ssm, 3)
})

test('stats count every hit, including those answered on the JS side', async () => {
  const client = Client.fromEnv()
  process.env.SK_NODE_HITS_COUNT = 'x'
  const ref = 'env:SK_NODE_HITS_COUNT'
  await client.get(ref)
  for (let i = 0; i < 999; i++) await client.get(ref)
  for (let i = 0; i < 500; i++) client.getCached(ref)
  const stats = client.stats()
  assert.equal(stats.misses, 1)
  assert.equal(stats.hits, 1499)
  // Counted once: a second stats() adds nothing.
  assert.equal(client.stats().hits, 1499)
  client.invalidate(ref)
  await client.get(ref)
  assert.equal(client.stats().hits, 1499)
  assert.equal(client.stats().misses, 2)
})

test('getCached answers synchronously from the cache, undefined when it must read', async () => {
  const client = Client.fromEnv()
  const ref = 'ssm:/prod/myapp/db-password'
  assert.equal(client.getCached(ref), undefined)
  const secret = await client.get(ref)
  assert.equal(client.getCached(ref), secret, 'the memoized Secret, same object')
  assert.equal(client.getCached('asm:prod/myapp/db-credentials#username'), undefined, 'never read')
  // A remembered not-found answer is thrown, as get would reject.
  const missing = 'ssm:/sk-node/hits-missing'
  assert.equal((await rejection(client.get(missing))).code, 'NOT_FOUND')
  assert.throws(() => client.getCached(missing), { code: 'NOT_FOUND' })
  assert.throws(() => client.getCached('no-scheme'), { code: 'INVALID_REFERENCE' })
})

test('a repeated hit stops at the refresh-ahead point, where the core starts the refresh', async () => {
  const client = Client.fromEnv({ defaultTtl: 1, refreshAhead: 0.5, ttlJitter: 0 })
  const ref = 'ssm:/prod/myapp/db-password'
  const first = await client.get(ref)
  assert.equal(await client.get(ref), first, 'a hit opens the JS-side window (until ~500 ms)')
  for (let i = 0; i < 100; i++) await client.get(ref)
  assert.equal(client.stats().refreshes, 0, 'not due yet')
  await sleep(600)
  const refreshed = nextEvent(client, 'refreshed')
  assert.equal(await client.get(ref), first, 'served from the cache while it refreshes')
  await refreshed
  assert.equal(client.stats().refreshes, 1)
  const next = await client.get(ref)
  assert.notEqual(next, first, 'the refreshed read, not the repeated one')
  assert.ok(next.fetchedAt > first.fetchedAt)
})
