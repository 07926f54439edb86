import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Client } from 'secretkit'
import { SSM_PASSWORD } from './helpers.mjs'

test('50 concurrent gets of a fresh key share one backend read', async () => {
  const client = Client.fromEnv()
  const ref = 'ssm:/prod/myapp/db-password'
  const secrets = await Promise.all(Array.from({ length: 50 }, () => client.get(ref)))
  assert.equal(secrets.length, 50)
  for (const s of secrets) assert.equal(s.reveal(), SSM_PASSWORD)
  // Counted, not inferred from equal timestamps.
  const stats = client.stats()
  assert.equal(stats.backendCalls.ssm, 1)
  assert.equal(stats.misses + stats.hits, 50)
})

test('hits come from the cache until invalidate or clear', async () => {
  const client = Client.fromEnv()
  process.env.SK_NODE_CACHE_TEST = 'first'
  assert.equal((await client.get('env:SK_NODE_CACHE_TEST')).reveal(), 'first')
  process.env.SK_NODE_CACHE_TEST = 'second'
  assert.equal((await client.get('env:SK_NODE_CACHE_TEST')).reveal(), 'first')
  // A #field or ?ttl= variant of the same reference shares the entry.
  assert.equal((await client.get('env:SK_NODE_CACHE_TEST?ttl=1h')).reveal(), 'first')
  client.invalidate('env:SK_NODE_CACHE_TEST')
  assert.equal((await client.get('env:SK_NODE_CACHE_TEST')).reveal(), 'second')
  process.env.SK_NODE_CACHE_TEST = 'third'
  client.clear()
  assert.equal((await client.get('env:SK_NODE_CACHE_TEST')).reveal(), 'third')
})

test('defaultTtl 0 disables caching', async () => {
  const client = Client.fromEnv({ defaultTtl: 0 })
  process.env.SK_NODE_TTL_TEST = 'a'
  assert.equal((await client.get('env:SK_NODE_TTL_TEST')).reveal(), 'a')
  process.env.SK_NODE_TTL_TEST = 'b'
  assert.equal((await client.get('env:SK_NODE_TTL_TEST')).reveal(), 'b')
})

test('a cache hit resolves with the cached read', async () => {
  const client = Client.fromEnv()
  const first = await client.get('vault:secret/myapp/config#api_key')
  const again = await client.get('vault:secret/myapp/config#db_host')
  assert.equal(again.reveal(), 'mydb.internal')
  assert.equal(again.fetchedAt.getTime(), first.fetchedAt.getTime())
})
