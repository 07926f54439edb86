import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { test } from 'node:test'
import { createRequire } from 'node:module'
import { promisify } from 'node:util'
import { Client, SecretkitError } from 'secretkit'
import { putParameter, uniqueName } from './aws.mjs'
import { env, nextEvent, sleep } from './helpers.mjs'

const CLOSED = 'http://127.0.0.1:1'

function closedPortClient() {
  return new Client({
    aws: { region: env.AWS_REGION, accessKeyId: 'x', secretAccessKey: 'y', endpoint: CLOSED },
    timeout: 2,
  })
}

test('Client is an EventEmitter; events are plain objects', async () => {
  const client = Client.fromEnv()
  assert.ok(client instanceof EventEmitter)
  const created = nextEvent(client, 'created')
  await client.get('ssm:/prod/myapp/db-password')
  const event = await created
  assert.deepEqual(Object.keys(event), [
    'kind',
    'reference',
    'oldVersion',
    'newVersion',
    'leaseId',
    'oldLeaseId',
    'username',
    'oldUsername',
    'ttlSecs',
    'error',
    'at',
  ])
  assert.equal(event.kind, 'created')
  assert.equal(event.reference, 'ssm:/prod/myapp/db-password')
  assert.equal(event.oldVersion, null)
  assert.equal(event.newVersion, '1')
  for (const lease of ['leaseId', 'oldLeaseId', 'username', 'oldUsername', 'ttlSecs']) assert.equal(event[lease], null)
  assert.equal(event.error, null)
  assert.ok(event.at instanceof Date)
  assert.ok(Math.abs(Date.now() - event.at.getTime()) < 10_000)
})

test("'changed' carries the old and new versions", async () => {
  const name = `/${uniqueName('sk-node-changed')}`
  await putParameter(name, 'one')
  const client = Client.fromEnv()
  await client.get(`ssm:${name}`)
  await putParameter(name, 'two')
  const changed = nextEvent(client, 'changed')
  await client.refresh(`ssm:${name}`)
  const event = await changed
  assert.equal(event.reference, `ssm:${name}`)
  assert.equal(event.oldVersion, '1')
  assert.equal(event.newVersion, '2')
  const refreshed = nextEvent(client, 'refreshed')
  await client.refresh(`ssm:${name}`)
  assert.equal((await refreshed).newVersion, '2')
})

test("'evicted' when the cache is over maxEntries", async () => {
  const client = Client.fromEnv({ maxEntries: 1 })
  const evicted = nextEvent(client, 'evicted')
  process.env.SK_NODE_EVICT_A = 'a'
  process.env.SK_NODE_EVICT_B = 'b'
  await client.get('env:SK_NODE_EVICT_A')
  await client.get('env:SK_NODE_EVICT_B')
  assert.equal((await evicted).reference, 'env:SK_NODE_EVICT_A')
})

test("'error' with a SecretkitError when the backend is unreachable", async () => {
  const client = closedPortClient()
  const failed = nextEvent(client, 'error')
  await assert.rejects(client.get('ssm:/prod/myapp/db-password'), { code: 'UNAVAILABLE' })
  const event = await failed
  assert.equal(event.kind, 'error')
  assert.equal(event.reference, 'ssm:/prod/myapp/db-password')
  assert.ok(event.error instanceof SecretkitError)
  assert.equal(event.error.code, 'UNAVAILABLE')
  assert.equal(event.error.reference, 'ssm:/prod/myapp/db-password')
})

test("no 'error' listener: a failed read is not emitted and nothing throws", async () => {
  const client = closedPortClient()
  const seen = []
  client.on('created', (e) => seen.push(e)) // subscribed natively, but nobody hears 'error'
  await assert.rejects(client.get('ssm:/prod/myapp/db-password'), { code: 'UNAVAILABLE' })
  await sleep(100) // let the queued event arrive: it must be dropped, not thrown
  assert.deepEqual(seen, [])
  assert.equal(client.stats().errors, 1)
})

test('events stop when the last listener goes, and come back (also after removeAllListeners)', async () => {
  const client = Client.fromEnv()
  process.env.SK_NODE_SUB_TEST = 'x'
  const seen = []
  const listener = (e) => seen.push(e.kind)
  client.on('created', listener)
  await client.get('env:SK_NODE_SUB_TEST')
  await sleep(20)
  assert.deepEqual(seen, ['created'])
  client.off('created', listener)
  client.clear()
  await client.get('env:SK_NODE_SUB_TEST')
  await sleep(20)
  assert.deepEqual(seen, ['created'])

  client.once('created', listener)
  client.on('refreshed', listener)
  client.removeAllListeners()
  client.clear()
  await client.get('env:SK_NODE_SUB_TEST')
  await sleep(20)
  assert.deepEqual(seen, ['created'])
  // The hooks survived removeAllListeners().
  const created = nextEvent(client, 'created')
  client.clear()
  await client.get('env:SK_NODE_SUB_TEST')
  assert.equal((await created).reference, 'env:SK_NODE_SUB_TEST')
})

test('the native subscription exists only while an event has listeners', async () => {
  const { NativeClient } = createRequire(import.meta.url)('../native.js')
  const { subscribe, unsubscribe } = NativeClient.prototype
  const live = new Set()
  NativeClient.prototype.subscribe = function (callback) {
    const id = subscribe.call(this, callback)
    live.add(id)
    return id
  }
  NativeClient.prototype.unsubscribe = function (id) {
    live.delete(id)
    return unsubscribe.call(this, id)
  }
  try {
    const client = Client.fromEnv()
    await client.get('ssm:/prod/myapp/db-password')
    client.on('somethingElse', () => {})
    assert.equal(live.size, 0, 'an idle client has no native listener')
    const a = () => {}
    const b = () => {}
    client.on('changed', a)
    client.on('error', b)
    client.once('created', a)
    assert.equal(live.size, 1, 'one native listener however many JS ones')
    client.off('changed', a)
    client.off('error', b)
    assert.equal(live.size, 1)
    client.off('created', a)
    assert.equal(live.size, 0)
    client.on('evicted', a)
    assert.equal(live.size, 1)
    client.removeAllListeners('evicted')
    assert.equal(live.size, 0)
    client.on('refreshed', a)
    client.removeAllListeners()
    assert.equal(live.size, 0)
    client.on('refreshed', a)
    assert.equal(live.size, 1)
    client.removeAllListeners()
  } finally {
    NativeClient.prototype.subscribe = subscribe
    NativeClient.prototype.unsubscribe = unsubscribe
  }
})

const run = promisify(execFile)

async function child(script) {
  const started = Date.now()
  const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('..', import.meta.url),
    timeout: 20_000,
  })
  return { stdout: stdout.trim(), stderr, seconds: (Date.now() - started) / 1000 }
}

test('a process with a subscribed client exits on its own', async () => {
  const script = `
    import { Client } from 'secretkit'
    const client = Client.fromEnv()
    client.on('created', (e) => console.log('event', e.kind))
    client.on('error', (e) => console.log('error event', e.error.code))
    const s = await client.get('ssm:/prod/myapp/db-password')
    await new Promise((r) => setTimeout(r, 50))
    console.log('read', String(s))
  `
  const { stdout, stderr, seconds } = await child(script)
  assert.equal(stdout, 'event created\nread Secret(ssm:/prod/myapp/db-password, <redacted>)')
  assert.equal(stderr, '')
  assert.ok(seconds < 10, `took ${seconds} s`)
})

test('the secretkit:event diagnostics channel sees every client made while subscribed', async () => {
  const script = `
    import diagnostics from 'node:diagnostics_channel'
    import { Client } from 'secretkit'
    const seen = []
    diagnostics.subscribe('secretkit:event', ({ client, event }) => {
      seen.push([client instanceof Client, event.kind, event.reference])
    })
    process.env.SK_CHANNEL_PROBE = 'channel-probe-value'
    const client = Client.fromEnv()
    await client.get('env:SK_CHANNEL_PROBE')
    await new Promise((r) => setTimeout(r, 50))
    console.log(JSON.stringify(seen))
  `
  const { stdout, stderr } = await child(script)
  assert.deepEqual(JSON.parse(stdout), [[true, 'created', 'env:SK_CHANNEL_PROBE']])
  assert.equal(stderr, '')
})

test('NODE_DEBUG=secretkit prints one line per event and never a value', async () => {
  const script = `
    import { Client } from 'secretkit'
    process.env.SK_DEBUG_PROBE = 'debug-probe-value'
    const client = Client.fromEnv()
    await client.get('env:SK_DEBUG_PROBE')
    await new Promise((r) => setTimeout(r, 50))
  `
  const { stderr } = await run(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('..', import.meta.url),
    env: { ...process.env, NODE_DEBUG: 'secretkit' },
    timeout: 20_000,
  })
  assert.match(stderr, /^SECRETKIT \d+: created env:SK_DEBUG_PROBE$/m)
  assert.doesNotMatch(stderr, /debug-probe-value/)
})

test('a background failure without an error listener never crashes the process', async () => {
  const script = `
    import { Client } from 'secretkit'
    const client = new Client({
      aws: { region: 'us-east-1', accessKeyId: 'x', secretAccessKey: 'y', endpoint: '${CLOSED}' },
      timeout: 2,
    })
    client.on('created', () => {})
    try {
      await client.get('ssm:/prod/myapp/db-password')
    } catch (err) {
      console.log('rejected', err.code)
    }
    await new Promise((r) => setTimeout(r, 200))
    console.log('alive')
  `
  const { stdout, stderr } = await child(script)
  assert.equal(stdout, 'rejected UNAVAILABLE\nalive')
  assert.equal(stderr, '')
})

test('a blocked JS thread: at most 10,000 events queue, the rest are dropped and reported', async () => {
  const bound = 10_000
  const names = Array.from({ length: bound + 50 }, (_, i) => `SK_NODE_FLOOD_${i}`)
  for (const name of names) process.env[name] = 'x'
  const client = Client.fromEnv({ maxEntries: 2 * names.length })
  let created = 0
  client.on('created', () => created++)
  const warnings = []
  const onWarning = (w) => {
    if (w.code === 'SECRETKIT_EVENTS_DROPPED') warnings.push(w.message)
  }
  process.on('warning', onWarning)
  try {
    const reads = names.map((name) => client.get(`env:${name}`))
    // Hold the JS thread until every read is done on the native side, so
    // every event waits in the queue.
    const deadline = Date.now() + 30_000
    while (client.stats().misses < names.length && Date.now() < deadline) {
      // busy: nothing queued can run
    }
    assert.equal(client.stats().misses, names.length)
    await Promise.all(reads)
    const drained = Date.now() + 30_000
    while (created < bound && Date.now() < drained) await sleep(10)
    await sleep(50) // nothing past the bound arrives late
    assert.equal(created, bound)
    const last = nextEvent(client, 'created')
    process.env.SK_NODE_FLOOD_LAST = 'x'
    await client.get('env:SK_NODE_FLOOD_LAST') // its event carries the count
    await last
    await sleep(10)
    assert.deepEqual(warnings, [
      '50 secretkit events were dropped: more than 10000 waited for the JavaScript thread',
    ])
  } finally {
    process.off('warning', onWarning)
    for (const name of names) delete process.env[name]
  }
})
