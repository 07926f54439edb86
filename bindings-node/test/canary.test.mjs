// Leak canary (RELIABILITY.md, "Leak canary"). tests/servers.py plants one
// random value, SK_CANARY, in every backend (SSM SecureString, Secrets Manager
// plain and JSON, Vault KV v2, the environment, a file). These tests read it
// through every scheme and read call, then push secrets, errors, events,
// stats and the client through every way JS turns a value into text: String,
// templates, toString/toJSON, JSON.stringify, util.inspect (hidden, getters),
// util.format, console.log, error stacks, property enumeration. Nothing may
// contain the canary or any 12 characters of its random part; only reveal()
// gives it. Everything rendered is also written to $SK_CANARY_OUT/node.log,
// which scripts/test.sh scans with the whole run's output; the last test
// prints the proof line the scan requires.
import assert from 'node:assert/strict'
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Console } from 'node:console'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { format, inspect } from 'node:util'
import { Client, SecretkitError } from 'secretkit'
import { nextEvent, sleep } from './helpers.mjs'

const SCHEMES = ['ssm', 'asm', 'asm-json', 'vault', 'env', 'file']
const WINDOW = 12 // as scripts/leak_scan.py: any 12 characters of the random part count

const envName = (scheme) => `SK_CANARY_${scheme.toUpperCase().replace('-', '_')}`
const missing = ['SK_CANARY', ...SCHEMES.map(envName)].filter((name) => !process.env[name])
if (missing.length) throw new Error(`${missing.join(', ')} unset: start the servers with tests/servers.py --fixtures`)
const CANARY = process.env.SK_CANARY
const REFS = Object.fromEntries(SCHEMES.map((s) => [s, process.env[envName(s)]]))

/** leaks(text): holds any WINDOW characters of the canary's random part, in any case; mask(text): those starred out. */
function detector(canary) {
  const tail = canary.split('-').slice(1).join('-')
  const windows = Array.from({ length: tail.length - WINDOW + 1 }, (_, i) => tail.slice(i, i + WINDOW).toLowerCase())
  return {
    leaks: (text) => windows.some((w) => text.toLowerCase().includes(w)),
    mask: (text) => {
      const hide = new Uint8Array(text.length)
      for (const w of windows) {
        // hex only: safe in a RegExp; 'i': an upper-cased copy is masked too
        for (const m of text.matchAll(new RegExp(w, 'gi'))) hide.fill(1, m.index, m.index + WINDOW)
      }
      return Array.from(text, (c, i) => (hide[i] ? '*' : c)).join('')
    },
  }
}
const { leaks, mask } = detector(CANARY)
const OUT_DIR = process.env.SK_CANARY_OUT || mkdtempSync(join(tmpdir(), 'secretkit-canary-'))
mkdirSync(OUT_DIR, { recursive: true })
const LOG = join(OUT_DIR, 'node.log')
const done = new Set()
let count = 0



/** Logs `text` to node.log and fails (without repeating the value) if it holds the canary. */
function check(label, value) {
  const text = typeof value === 'string' ? value : inspect(value, { depth: Infinity })
  count += 1
  appendFileSync(LOG, `[${label}] ${text}\n`)
  assert.ok(!leaks(text), `LEAK: ${label} shows the canary: ${mask(text).slice(0, 500)}`)
}

/** console.log of `args`, through a real Console, into node.log and returned. */
function logged(...args) {
  let out = ''
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += chunk
      appendFileSync(LOG, chunk)
      cb()
    },
  })
  const console_ = new Console({ stdout: sink, stderr: sink, colorMode: false })
  console_.log(...args)
  console_.error('%s %o', ...args, ...args)
  console_.dir(args, { depth: Infinity, showHidden: true })
  console_.table(args)
  return out
}

function renderings(obj) {
  const shown = {
    String: () => String(obj),
    template: () => `${obj}`,
    plus: () => '' + obj,
    toString: () => obj.toString(),
    JSON: () => JSON.stringify(obj),
    JSONnested: () => JSON.stringify({ nested: [obj] }),
    inspect: () => inspect(obj),
    inspectAll: () => inspect(obj, { showHidden: true, depth: Infinity, getters: true }),
    inspectRaw: () => inspect(obj, { customInspect: false, showHidden: true, depth: Infinity, getters: true }),
    inspectNested: () => inspect({ a: [obj] }, { depth: Infinity }),
    format: () => format('%s %o %O %j %d %i', obj, obj, obj, obj, obj, obj),
    console: () => logged(obj),
    keys: () => JSON.stringify([Object.keys(obj), Object.getOwnPropertyNames(obj)]),
    entries: () => inspect(Object.entries(obj), { depth: Infinity }),
    spread: () => inspect({ ...obj }, { depth: Infinity }),
    structuredClone: () => inspect(structuredClone(obj), { depth: Infinity }),
    prototype: () => inspect(Object.getOwnPropertyNames(Object.getPrototypeOf(obj) ?? {})),
  }
  const out = {}
  for (const [how, fn] of Object.entries(shown)) {
    try {
      out[how] = String(fn())
    } catch (err) {
      out[how] = `threw ${err?.name}: ${err?.message}` // e.g. JSON.stringify of a cycle
    }
  }
  return out
}

function checkAll(label, obj) {
  for (const [how, text] of Object.entries(renderings(obj))) check(`${label} ${how}`, text)
}

function checkError(label, err) {
  checkAll(label, err)
  check(`${label} message`, String(err.message))
  check(`${label} stack`, String(err.stack))
  if (err.cause) checkError(`${label} cause`, err.cause)
}

async function rejection(promise) {
  try {
    await promise
  } catch (err) {
    return err
  }
  assert.fail('expected a rejection')
}

function failingRefs() {
  const asmJson = REFS['asm-json'].split('#')[0]
  const vault = REFS.vault.split('#')[0]
  return {
    'missing JSON field': `${asmJson}#missing_field`,
    'missing Vault field': `${vault}#missing_field`,
    'field of a non-JSON SSM value': `${REFS.ssm}#password`,
    'field of a non-JSON ASM value': `${REFS.asm}#password`,
    'field of a non-JSON env value': `${REFS.env}#password`,
    'field of a non-JSON file': `${REFS.file}#password`,
    'wrong Vault ?version=': `${vault}?version=9#password`,
    'wrong ASM ?version=': `${REFS.asm}?version=00000000-0000-4000-8000-000000000000`,
    'missing ASM stage': `${REFS.asm}?stage=AWSPREVIOUS`,
    'wrong SSM version': `${REFS.ssm}:99`,
    'invalid reference': `${REFS.ssm}?ttl=forever`,
  }
}

test('the check catches copies of a made-up canary and masks them', () => {
  const canary = 'canary-0123456789abcdef0123456789abcdef'
  const made = detector(canary)
  assert.ok(!made.leaks('Secret(ssm:/test/canary, <redacted>)'))
  for (const text of [`Secret(${canary})`, canary.toUpperCase(), `… ${canary.slice(12, 26)} (truncated)`]) {
    assert.ok(made.leaks(text), text)
    const shown = made.mask(text)
    assert.ok(!shown.toLowerCase().includes(canary.slice(-6)) && !shown.includes('123456'), shown)
  }
})

test('reads the canary through every scheme and read call', async () => {
  const client = Client.fromEnv()
  for (const [scheme, ref] of Object.entries(REFS)) {
    const secret = await client.get(ref)
    assert.ok(secret.reveal() === CANARY, `${scheme}: ${ref} is not the planted canary`)
    assert.ok(secret.revealBytes().equals(Buffer.from(CANARY)))
    checkAll(`get(${scheme})`, secret)
    const hit = await client.get(ref)
    assert.equal(hit, secret)
    const refreshed = await client.refresh(ref)
    assert.ok(refreshed.reveal() === CANARY)
    checkAll(`refresh(${scheme})`, refreshed)
  }
  const fresh = Client.fromEnv()
  const many = await fresh.getMany(Object.values(REFS))
  assert.ok(many.every((s) => s.reveal() === CANARY))
  checkAll('getMany', many)
  check('prefetch', String(await fresh.prefetch('ssm:/test/')))
  done.add('reads')
})

test('errors name the reference, never the value', async () => {
  const client = Client.fromEnv()
  for (const ref of Object.values(REFS)) await client.get(ref) // cached: selections below use the cached value
  const codes = new Set()
  for (const [what, ref] of Object.entries(failingRefs())) {
    const cached = await rejection(client.get(ref))
    assert.ok(cached instanceof SecretkitError, `${what}: ${cached}`)
    codes.add(cached.code)
    checkError(`error ${what}`, cached)
    checkError(`error uncached ${what}`, await rejection(Client.fromEnv().get(ref)))
  }
  const settled = await Client.fromEnv().getMany([...Object.values(failingRefs()), ...Object.values(REFS)], {
    settled: true,
  })
  settled.forEach((item, i) => (item instanceof Error ? checkError(`getMany item ${i}`, item) : checkAll(`getMany item ${i}`, item)))
  for (const code of ['NOT_FOUND', 'INVALID_RESPONSE', 'INVALID_REFERENCE']) assert.ok(codes.has(code), [...codes].join())
  done.add('errors')
})

test('events of every kind a read makes', async () => {
  const seen = []
  const client = Client.fromEnv()
  for (const kind of ['created', 'refreshed', 'changed', 'evicted', 'error']) client.on(kind, (e) => seen.push(e))
  const watched = []
  for (const ref of Object.values(REFS)) {
    client.watch(ref, (e) => watched.push(e))
    await client.get(ref)
    await client.refresh(ref)
  }
  for (const ref of Object.values(failingRefs())) await client.get(ref).catch(() => {})
  // changed: a file whose value changes (to one that still holds the canary)
  const dir = mkdtempSync(join(tmpdir(), 'secretkit-canary-file-'))
  try {
    const file = join(dir, 'value')
    writeFileSync(file, CANARY)
    await client.get(`file:${file}`)
    const unwatch = client.watch(`file:${file}`, (e) => watched.push(e))
    writeFileSync(file, `${CANARY}-rotated`)
    assert.ok((await client.refresh(`file:${file}`)).reveal() === `${CANARY}-rotated`)
    unwatch()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  // evicted: a one-entry cache
  const small = Client.fromEnv({ maxEntries: 1 })
  small.on('evicted', (e) => seen.push(e))
  await small.get(REFS.ssm)
  await small.get(REFS.vault)
  // error: a backend that fails the read itself
  const broken = new Client({ vault: { address: 'http://127.0.0.1:9', token: 't' }, timeout: 2 })
  const errorEvent = nextEvent(broken, 'error')
  checkError('broken read', await rejection(broken.get(REFS.vault)))
  seen.push(await errorEvent)
  for (let i = 0; i < 50 && !['created', 'refreshed', 'changed', 'evicted', 'error'].every((k) => seen.some((e) => e.kind === k)); i++) {
    await sleep(20)
  }
  const kinds = new Set(seen.map((e) => e.kind))
  assert.deepEqual([...kinds].sort(), ['changed', 'created', 'error', 'evicted', 'refreshed'])
  assert.ok(watched.length >= 1, 'a watch callback')
  ;[...seen, ...watched].forEach((event, i) => {
    checkAll(`event ${i} ${event.kind}`, event)
    if (event.error) checkError(`event ${i} error`, event.error)
  })
  await Promise.all([client.close(), small.close(), broken.close()])
  done.add('events')
})

test('stats and the client itself', async () => {
  const client = Client.fromEnv()
  for (const ref of Object.values(REFS)) {
    await client.get(ref)
    await client.get(ref)
  }
  const stats = client.stats()
  assert.ok(stats.hits >= SCHEMES.length)
  checkAll('stats', stats)
  checkAll('client', client)
  check('closed', String(await client.close()))
  checkError('read after close', await rejection(client.get(REFS.ssm)))
  done.add('stats')
})

test('proof line', () => {
  const unfinished = ['reads', 'errors', 'events', 'stats'].filter((d) => !done.has(d))
  assert.deepEqual(unfinished, [], 'canary checks that did not finish')
  assert.ok(!leaks(readFileSync(LOG, 'utf8')), 'the canary log holds the canary')
  console.log(
    `leak canary: node read ${SCHEMES.join(' ')}: ok (${CANARY.length} bytes each), ${count} outputs checked, 0 occurrences; log ${LOG}`,
  )
})
