// secretkit next to what Node users pick instead, in one run against the
// servers of tests/servers.py: AWS Lambda Powertools parameters (AWS SDK v3),
// the AWS SDK v3 + a TTL Map, node-vault + a TTL Map. Writes JSON rows that
// bench/compare/render.py turns into the tables; run by bench/compare.sh.
//
//   NODE_PATH=<scratch>/node/node_modules node bench/compare/node_compare.mjs --out rows.json
//
// The peers come from the scratch npm project compare.sh installs (passed as
// COMPARE_NODE_MODULES); secretkit from SECRETKIT_NODE_DIR (bindings-node, as
// built), loaded by path so nothing is installed into the repository.
import { createRequire } from 'node:module'
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const env = process.env
const peers = createRequire(join(env.COMPARE_NODE_MODULES, 'x.js'))
const { Client } = createRequire(import.meta.url)(join(env.SECRETKIT_NODE_DIR, 'index.js'))
const { SecretsManagerClient, GetSecretValueCommand } = peers('@aws-sdk/client-secrets-manager')
const { SSMClient } = peers('@aws-sdk/client-ssm')
const { SecretsProvider } = peers('@aws-lambda-powertools/parameters/secrets')
const { SSMProvider } = peers('@aws-lambda-powertools/parameters/ssm')
const nodeVault = peers('node-vault')

const ASM_NAME = 'prod/myapp/db-credentials'
const SSM_NAME = '/prod/myapp/db-password'
const ASM = `asm:${ASM_NAME}`
const SSM = `ssm:${SSM_NAME}`
const VAULT = 'vault:secret/myapp/config#api_key'
const HIT_ROUNDS = Number(env.COMPARE_HIT_RUNS ?? 7)
const HIT_N = Number(env.COMPARE_NODE_HIT_N ?? 200_000)
const COLD_SIZES = (env.COMPARE_COLD_SIZES ?? '64 10000').split(/\s+/).filter(Boolean).map(Number)
const REFRESH_SECONDS = Number(env.COMPARE_REFRESH_SECONDS ?? 10)
const RSS_HITS = Number(env.COMPARE_RSS_HITS ?? 1_000_000)
const RSS_MAX_SECONDS = Number(env.COMPARE_RSS_MAX_SECONDS ?? 60)
const NO_VAULT = 'n/a: Powertools parameters has no Vault provider'
const log = (msg) => process.stderr.write(`[node] ${msg}\n`)

/** An SDK client that counts the operations it sends (middleware, as bindings-node/bench/hit.mjs does). */
function counted(SdkClient, endpoint = env.AWS_ENDPOINT_URL) {
  const client = new SdkClient({ region: env.AWS_REGION, endpoint })
  client.calls = 0
  client.middlewareStack.add((next) => (args) => { client.calls += 1; return next(args) }, { step: 'initialize', name: 'countCalls' })
  return client
}

/** The snippet users write: a Map of {value, expires}, the fetch inline on a miss. */
function ttlMap(fetch, ttlSeconds = 300) {
  const cache = new Map()
  const get = async (name) => {
    const hit = cache.get(name)
    if (hit && hit.expires > Date.now()) return hit.value
    get.calls += 1
    const value = await fetch(name)
    cache.set(name, { value, expires: Date.now() + ttlSeconds * 1000 })
    return value
  }
  get.calls = 0
  return get
}

function sdkMap(endpoint, ttl) {
  const sdk = new SecretsManagerClient({ region: env.AWS_REGION, endpoint })
  const get = ttlMap(async (name) => (await sdk.send(new GetSecretValueCommand({ SecretId: name }))).SecretString, ttl)
  get.sdk = sdk
  return get
}

function vaultMap(address = env.VAULT_ADDR, ttl) {
  const vault = nodeVault({ endpoint: address, token: env.VAULT_TOKEN })
  return ttlMap(async (path) => (await vault.read(path)).data.data.api_key, ttl)
}

function secretkitAt(aws, vault, options) {
  return new Client({
    aws: { region: env.AWS_REGION, accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, endpoint: aws },
    vault: { address: vault, token: env.VAULT_TOKEN },
    ...options,
  })
}

const row = (measure, key, library, text, metrics, ratio, secretkit = false) => ({ measure, key, library, text, metrics, ratio, secretkit })
const na = (measure, key, library, why) => row(measure, key, library, why, {}, [])
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const VAULT_PATH = 'secret/data/myapp/config'

// ---- 1. cache hit ------------------------------------------------------------

async function cacheHits(expected) {
  const sk = Client.fromEnv()
  const ptSecrets = new SecretsProvider({ awsSdkV3Client: counted(SecretsManagerClient) })
  const ptSsm = new SSMProvider({ awsSdkV3Client: counted(SSMClient) })
  const sdk = sdkMap(env.AWS_ENDPOINT_URL)
  const nv = vaultMap()
  const cases = [
    ['asm', "secretkit `(await client.get('asm:…')).reveal()`", () => sk.get(ASM).then((s) => s.reveal()), true],
    // The Secret alone: what BENCHMARKS.md's hit rows time; the peers give the value.
    ['asm', "secretkit `await client.get('asm:…')` (the Secret, not revealed)", () => sk.get(ASM), true],
    ['asm', 'AWS SDK v3 + TTL Map', () => sdk(ASM_NAME)],
    ['asm', 'Powertools `secrets.get` (maxAge 300)', () => ptSecrets.get(ASM_NAME, { maxAge: 300 })],
    ['ssm', "secretkit `(await client.get('ssm:…')).reveal()`", () => sk.get(SSM).then((s) => s.reveal()), true],
    ['ssm', 'Powertools `ssm.get` (maxAge 300, decrypt)', () => ptSsm.get(SSM_NAME, { maxAge: 300, decrypt: true })],
    ['vault', "secretkit `(await client.get('vault:…#api_key')).reveal()`", () => sk.get(VAULT).then((s) => s.reveal()), true],
    ['vault', 'node-vault + TTL Map', () => nv(VAULT_PATH)],
  ]
  for (const [key, library, read] of cases) {
    const got = await read()
    if ((typeof got === 'string' ? got : got.reveal()) !== expected[key]) throw new Error(`${library} answered a wrong value`)
  }
  // Interleaved rounds of HIT_N awaited reads each; the median round per case.
  const results = new Map(cases.map(([, library]) => [library, []]))
  let sink = 0
  for (let round = 0; round < HIT_ROUNDS; round++) {
    for (const [, library, read] of cases) {
      const started = process.hrtime.bigint()
      for (let i = 0; i < HIT_N; i++) sink ^= (await read()) ? 1 : 0
      results.get(library).push(Number(process.hrtime.bigint() - started) / HIT_N)
    }
  }
  if (sink === 0.5) log('') // keeps the reads alive
  log(`cache hit: ${HIT_ROUNDS} rounds done`)
  const title = '1. cache hit, ns per read'
  const rows = cases.map(([key, library, , sk]) => {
    const ns = median(results.get(library))
    return row(title, key, library, `${ns.toFixed(0)} ns`, { ns }, ['ns'], sk)
  })
  rows.push(na(title, 'vault', 'Powertools', NO_VAULT))
  return rows
}

// ---- 2. concurrent cold reads --------------------------------------------------

async function cold(expected) {
  const rows = []
  for (const n of COLD_SIZES) {
    const title = `2. backend calls, ${n.toLocaleString('en')} concurrent cold reads (Promise.all)`
    const cases = [
      ['asm', 'secretkit `client.get`', () => { const c = Client.fromEnv(); return [() => c.get(ASM).then((s) => s.reveal()), () => c.stats().backendCalls.asm] }, true],
      ['asm', 'AWS SDK v3 + TTL Map', () => { const g = sdkMap(env.AWS_ENDPOINT_URL); return [() => g(ASM_NAME), () => g.calls] }],
      ['asm', 'Powertools `secrets.get`', () => { const sdk = counted(SecretsManagerClient); const p = new SecretsProvider({ awsSdkV3Client: sdk }); return [() => p.get(ASM_NAME, { maxAge: 300 }), () => sdk.calls] }],
      ['vault', 'secretkit `client.get`', () => { const c = Client.fromEnv(); return [() => c.get(VAULT).then((s) => s.reveal()), () => c.stats().backendCalls.vault] }, true],
      ['vault', 'node-vault + TTL Map', () => { const g = vaultMap(); return [() => g(VAULT_PATH), () => g.calls] }],
    ]
    for (const [key, library, make, sk] of cases) {
      log(`${n} cold reads: ${library} (${key})`)
      const [read, calls] = make()
      const started = performance.now()
      const settled = await Promise.allSettled(Array.from({ length: n }, read))
      const seconds = (performance.now() - started) / 1000
      const wrong = settled.filter((s) => s.status !== 'fulfilled' || s.value !== expected[key]).length
      let text = `${calls().toLocaleString('en')} call${calls() === 1 ? '' : 's'} in ${seconds.toFixed(2)} s`
      if (wrong) text += `, ${wrong} failed or wrong (first: ${settled.find((s) => s.status === 'rejected')?.reason?.message ?? 'wrong value'})`
      rows.push(row(title, key, `${library} (${key})`, text, { calls: calls() }, ['calls'], sk))
    }
    rows.push(na(title, 'vault', 'Powertools (vault)', NO_VAULT))
  }
  return rows
}

// ---- 3. reads across refreshes with a slow backend -------------------------------

const proxyCount = async (url) => (await (await fetch(`${url}/__proxy__/count`)).json()).requests
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const fmtUs = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`)

async function timedReads(read, proxy) {
  await read()
  const before = await proxyCount(proxy)
  const times = []
  const end = performance.now() + REFRESH_SECONDS * 1000
  let next = performance.now()
  for (let now = performance.now(); now < end; now = performance.now()) {
    await read()
    times.push((performance.now() - now) * 1000)
    next += 1
    await sleep(Math.max(0, next - performance.now()))
  }
  const calls = (await proxyCount(proxy)) - before
  times.sort((a, b) => a - b)
  return { reads: times.length, p50: times[times.length >> 1], p99: times[Math.floor(times.length * 0.99)], max: times.at(-1), calls }
}

async function refresh() {
  const aws = env.DELAY_AWS_URL
  const vault = env.DELAY_VAULT_URL
  const title = `3. reads every ~1 ms for ${REFRESH_SECONDS} s, TTL 1 s, +20 ms per backend request`
  const sk = secretkitAt(aws, vault, { defaultTtl: 1 })
  const sdk = sdkMap(aws, 1)
  const pt = new SecretsProvider({ awsSdkV3Client: counted(SecretsManagerClient, aws) })
  const nv = vaultMap(vault, 1)
  const cases = [
    ['asm', 'secretkit (refresh ahead at 75 %)', () => sk.get(ASM).then((s) => s.reveal()), aws, true],
    ['asm', 'AWS SDK v3 + TTL Map', () => sdk(ASM_NAME), aws],
    ['asm', 'Powertools `secrets.get` (maxAge 1)', () => pt.get(ASM_NAME, { maxAge: 1 }), aws],
    ['vault', 'secretkit (refresh ahead at 75 %)', () => sk.get(VAULT).then((s) => s.reveal()), vault, true],
    ['vault', 'node-vault + TTL Map', () => nv(VAULT_PATH), vault],
  ]
  const rows = []
  for (const [key, library, read, proxy, isSk] of cases) {
    log(`slow backend: ${library} (${key})`)
    const r = await timedReads(read, proxy)
    const text = `slowest ${fmtUs(r.max)}; p50 ${fmtUs(r.p50)}, p99 ${fmtUs(r.p99)}; backend calls ${r.calls}, ${r.reads.toLocaleString('en')} reads`
    rows.push(row(title, key, `${library} (${key})`, text, r, ['max'], isSk))
  }
  return rows
}

// ---- 5. RSS growth over many hits, one process per library -----------------------

const RSS_LIBS = {
  'secretkit-asm': ['asm', "secretkit `client.get('asm:…')`", true],
  'sdk-map': ['asm', 'AWS SDK v3 + TTL Map', false],
  powertools: ['asm', 'Powertools `secrets.get`', false],
  'secretkit-vault': ['vault', "secretkit `client.get('vault:…')`", true],
  'vault-map': ['vault', 'node-vault + TTL Map', false],
}

async function rssChild(lib) {
  let read
  if (lib.startsWith('secretkit')) {
    const sk = Client.fromEnv()
    const ref = lib === 'secretkit-asm' ? ASM : VAULT
    read = () => sk.get(ref).then((s) => s.reveal())
  } else if (lib === 'sdk-map') {
    const g = sdkMap(env.AWS_ENDPOINT_URL)
    read = () => g(ASM_NAME)
  } else if (lib === 'powertools') {
    const p = new SecretsProvider({ awsSdkV3Client: counted(SecretsManagerClient) })
    read = () => p.get(ASM_NAME, { maxAge: 3600 })
  } else {
    const g = vaultMap()
    read = () => g(VAULT_PATH)
  }
  for (let i = 0; i < 10_000; i++) await read()
  globalThis.gc()
  const before = process.memoryUsage().rss
  let hits = 0
  const deadline = performance.now() + RSS_MAX_SECONDS * 1000
  while (hits < RSS_HITS && performance.now() < deadline) {
    for (let i = 0; i < 1000; i++) await read()
    hits += 1000
  }
  globalThis.gc()
  const mib = 1024 * 1024
  console.log(JSON.stringify({ before: before / mib, after: process.memoryUsage().rss / mib, hits }))
  process.exit(0) // SDK sockets and secretkit's runtime would keep the process alive
}

function rss() {
  const title = `5. RSS growth over ${RSS_HITS.toLocaleString('en')} hits (after warm-up → after)`
  const rows = []
  for (const [lib, [key, library, isSk]] of Object.entries(RSS_LIBS)) {
    log(`RSS: ${library}`)
    const out = execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--rss', lib], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    const r = JSON.parse(out.trim().split('\n').at(-1))
    const growth = r.after - r.before
    let text = `${r.before.toFixed(1)} → ${r.after.toFixed(1)} MiB (${growth >= 0 ? '+' : ''}${growth.toFixed(2)} MiB)`
    if (r.hits < RSS_HITS) text += `; stopped at the ${RSS_MAX_SECONDS} s cap after ${r.hits.toLocaleString('en')} hits`
    rows.push(row(title, key, `${library} (${key})`, text, { growth_mib: growth, after_mib: r.after, hits: r.hits }, ['growth_mib', 'after_mib'], isSk))
  }
  return rows
}

async function main() {
  const args = process.argv.slice(2)
  const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback)
  if (args.includes('--rss')) return rssChild(opt('--rss'))
  const warm = Client.fromEnv()
  const expected = {
    asm: (await warm.get(ASM)).reveal(),
    ssm: (await warm.get(SSM)).reveal(),
    vault: (await warm.get(VAULT)).reveal(),
  }
  const parts = { hit: () => cacheHits(expected), cold: () => cold(expected), refresh, rss }
  const rows = []
  for (const part of opt('--only', 'hit,cold,refresh,rss').split(',')) rows.push(...(await parts[part]()))
  writeFileSync(opt('--out'), JSON.stringify(rows, null, 1))
  process.exit(0) // open SDK sockets and clients would keep the process alive
}

await main()
