import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { Client } from 'secretkit'
import { awsConfig, privateMoto, putParameter } from './aws.mjs'
import { sleep } from './helpers.mjs'

let moto = null
after(() => moto?.stop())

// A failed AWS read against a refused port takes a few seconds: the AWS SDK
// retries connection errors itself (standard mode, 3 attempts with backoff).
test('stale if error through a moto outage: values keep coming, bounded retries, recovery', async (t) => {
  moto = await privateMoto()
  const name = '/sk-node/stale'
  const ref = `ssm:${name}`
  await putParameter(name, 'before', moto.endpoint)
  const client = new Client({
    aws: awsConfig(moto.endpoint),
    defaultTtl: 0.5,
    refreshAhead: 1,
    ttlJitter: 0,
    retryBase: 0.2,
    retryMax: 0.4,
    timeout: 1,
  })
  // A listener, but none for 'error': background failures must not throw.
  const changes = []
  client.on('changed', (e) => changes.push(e))
  assert.equal((await client.get(ref)).reveal(), 'before')

  await moto.stop()
  await sleep(600) // past the TTL
  // The first read after expiry waits for the failed read, then gets the stale value.
  assert.equal((await client.get(ref)).reveal(), 'before')
  const down = client.stats()
  assert.equal(down.staleServes, 1)

  // From now on reads are answered at once while retries run in the background.
  let reads = 0
  let slowest = 0
  const window = 4000
  const until = Date.now() + window
  while (Date.now() < until) {
    const started = performance.now()
    assert.equal((await client.get(ref)).reveal(), 'before')
    slowest = Math.max(slowest, performance.now() - started)
    reads += 1
    if (reads % 100 === 0) await sleep(1)
  }
  const outage = client.stats()
  const attempts = outage.backendCalls.ssm - down.backendCalls.ssm
  t.diagnostic(`${reads} stale reads in ${window} ms, ${attempts} backend attempts, slowest read ${slowest.toFixed(2)} ms`)
  assert.ok(slowest < 100, `a stale read waited ${slowest} ms`)
  assert.equal(outage.staleServes - down.staleServes, reads)
  // Retries are spaced by at least retryBase (0.2 s), whatever the read rate.
  assert.ok(attempts >= 1 && attempts <= window / 200, `${attempts} backend attempts for ${reads} reads`)
  assert.ok(reads > 100 * attempts, `${attempts} backend attempts for ${reads} reads`)

  await moto.start() // same port, empty state: seed the new value
  await putParameter(name, 'after', moto.endpoint)
  const deadline = Date.now() + 10_000
  let value = 'before'
  while (value !== 'after' && Date.now() < deadline) {
    value = (await client.get(ref)).reveal()
    await sleep(20)
  }
  assert.equal(value, 'after', 'recovered after the restart')
  await sleep(20)
  assert.ok(changes.some((e) => e.reference === ref), 'a changed event for the new value')
})
