// Cache-hit cost and cold-read backend calls: secretkit next to a plain Map
// and AWS Lambda Powertools parameters, in one run, against the real moto
// server of tests/servers.py. Not a test: it prints figures.
//
//   .venv/bin/python tests/servers.py start --env-file /tmp/sk-env --fixtures
//   . /tmp/sk-env && cd bindings-node && node bench/hit.mjs
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { SSMClient } from '@aws-sdk/client-ssm'
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets'
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm'
import { createRequire } from 'node:module'
import os from 'node:os'
import { mkdtempSync } from 'node:fs'
import { join } from 'node:path'
import { Client, runWithIdentity } from 'secretkit'

const env = process.env
for (const name of ['AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
  if (!env[name]) throw new Error(`${name} is not set: source the env file tests/servers.py wrote`)
}

const SSM_NAME = '/prod/myapp/db-password'
const ASM_NAME = 'prod/myapp/db-credentials'
const MAX_AGE = 24 * 3600 // Powertools maxAge, seconds: every timed read is a hit
const ROUNDS = Number(env.BENCH_ROUNDS ?? 7)
const N = Number(env.BENCH_N ?? 1_000_000)

console.log(`command: cd bindings-node && node ${process.argv.slice(1).map((a) => a.replace(process.cwd() + '/', '')).join(' ')}`)
console.log(`moto: ${env.AWS_ENDPOINT_URL}; node ${process.version}; ${os.cpus().length} CPUs (${os.cpus()[0]?.model}); load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`)
console.log(`${ROUNDS} interleaved rounds of ${N.toLocaleString('en')} reads per case; best round reported`)
console.log()

/** An SDK client that counts the operations it sends (retries are not extra calls). */
function counted(SdkClient) {
  const client = new SdkClient({ region: env.AWS_REGION, endpoint: env.AWS_ENDPOINT_URL })
  client.calls = 0
  client.middlewareStack.add(
    (next) => (args) => {
      client.calls += 1
      return next(args)
    },
    { step: 'initialize', name: 'countCalls' },
  )
  return client
}

const powertools = () => {
  const ssmSdk = counted(SSMClient)
  const asmSdk = counted(SecretsManagerClient)
  return {
    ssm: new SSMProvider({ awsSdkV3Client: ssmSdk }),
    asm: new SecretsProvider({ awsSdkV3Client: asmSdk }),
    ssmSdk,
    asmSdk,
  }
}

// ---- cache hits -----------------------------------------------------------

// asm and asm#field share one cache entry: 2 misses in all.
const sk = Client.fromEnv({ defaultTtl: MAX_AGE })
const pt = powertools()
const ssmRef = `ssm:${SSM_NAME}`
const asmRef = `asm:${ASM_NAME}`
const fieldRef = `asm:${ASM_NAME}#password`
await sk.get(ssmRef)
await sk.get(asmRef)
await sk.get(fieldRef)
await pt.ssm.get(SSM_NAME, { maxAge: MAX_AGE, decrypt: true })
await pt.asm.get(ASM_NAME, { maxAge: MAX_AGE })

const map = new Map([[ssmRef, 'value']])
const plainValue = 'value'
async function asyncReturn() {
  return plainValue
}
const promiseResolve = () => Promise.resolve(plainValue)

// The native call a hit makes past its JS-side window, on its own (internal API).
const native = createRequire(import.meta.url)('../native.js').NativeClient.fromEnv({ defaultTtl: MAX_AGE })
const nativeSerial = (await native.get(ssmRef)).serial
const hitPath = native.hitPath()
const slot = hitPath.open(ssmRef)

// The audit trail on (ARCHITECTURE.md, item 5): every hit goes to the core
// with the caller's identity (AsyncLocalStorage), aggregated there; the file
// gets one record per (reference, identity) per second.
const auditDir = mkdtempSync(join(os.tmpdir(), 'sk-bench-audit-'))
const audited = Client.fromEnv({ defaultTtl: MAX_AGE, audit: { file: join(auditDir, 'audit.jsonl') } })
await audited.get(ssmRef)
const inIdentity = (fn) => runWithIdentity({ service: 'bench', user: 'u-1', requestId: 'r-1' }, fn)

let sink = 0
const cases = [
  ['secretkit  await client.get(ssm)', async () => { for (let i = 0; i < N; i++) sink ^= (await sk.get(ssmRef)) ? 1 : 0 }],
  ['secretkit  await client.get(asm)', async () => { for (let i = 0; i < N; i++) sink ^= (await sk.get(asmRef)) ? 1 : 0 }],
  ['secretkit  await client.get(asm#field)', async () => { for (let i = 0; i < N; i++) sink ^= (await sk.get(fieldRef)) ? 1 : 0 }],
  ['Map.get (sync)', async () => { for (let i = 0; i < N; i++) sink ^= map.get(ssmRef) ? 1 : 0 }],
  ['await Map.get', async () => { for (let i = 0; i < N; i++) sink ^= (await map.get(ssmRef)) ? 1 : 0 }],
  ['await an async function returning a value', async () => { for (let i = 0; i < N; i++) sink ^= (await asyncReturn()) ? 1 : 0 }],
  ['await Promise.resolve(value) from a plain function', async () => { for (let i = 0; i < N; i++) sink ^= (await promiseResolve()) ? 1 : 0 }],
  ['Powertools await ssm.get (maxAge 1 day)', async () => { for (let i = 0; i < N; i++) sink ^= (await pt.ssm.get(SSM_NAME, { maxAge: MAX_AGE, decrypt: true })) ? 1 : 0 }],
  ['Powertools await secrets.get (maxAge 1 day)', async () => { for (let i = 0; i < N; i++) sink ^= (await pt.asm.get(ASM_NAME, { maxAge: MAX_AGE })) ? 1 : 0 }],
  ['secretkit  client.getCached(ssm) (sync)', async () => { for (let i = 0; i < N; i++) sink ^= sk.getCached(ssmRef) ? 1 : 0 }],
  ['native hitPath.window(slot) (a hit past its window)', async () => { for (let i = 0; i < N; i++) sink ^= hitPath.window(slot, nativeSerial, 0, undefined) > 0 ? 1 : 0 }],
]

// BENCH_AUDIT=1 adds the audited case. Its runWithIdentity turns Node 20's
// AsyncLocalStorage on for the whole process (promise hooks), which makes
// every await dearer, audited or not: so it is off by default, and the
// audited figure is compared with the unaudited one of the same run.
if (env.BENCH_AUDIT === '1') {
  cases.unshift(['secretkit  await client.get(ssm), audited', () => inIdentity(async () => { for (let i = 0; i < N; i++) sink ^= (await audited.get(ssmRef)) ? 1 : 0 })])
}

const best = new Map()
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of cases) {
    const started = process.hrtime.bigint()
    await run()
    const ns = Number(process.hrtime.bigint() - started) / N
    best.set(name, Math.min(best.get(name) ?? Infinity, ns))
  }
}
const skNs = best.get('secretkit  await client.get(ssm)')
console.log('ns per cache hit (best round)'.padEnd(54), 'ns'.padStart(9), '  time / secretkit get(ssm)')
for (const [name, ns] of best) {
  console.log(name.padEnd(54), ns.toFixed(1).padStart(9), `  ${(ns / skNs).toFixed(2)}x`)
}
const ratio = (a, b) => (best.get(a) / best.get(b)).toFixed(2)
console.log(
  `Powertools time / secretkit time, same backend: SSM ${ratio('Powertools await ssm.get (maxAge 1 day)', 'secretkit  await client.get(ssm)')}x,` +
    ` Secrets Manager ${ratio('Powertools await secrets.get (maxAge 1 day)', 'secretkit  await client.get(asm)')}x`,
)
if (pt.ssmSdk.calls !== 1 || pt.asmSdk.calls !== 1) throw new Error('Powertools went to the backend while timed')
const stats = sk.stats()
if (stats.misses !== 2 || stats.backendCalls.ssm !== 1 || stats.backendCalls.asm !== 1) throw new Error(`secretkit missed while timed: ${JSON.stringify(stats)}`)
console.log()

// ---- concurrent cold reads ---------------------------------------------------

console.log('concurrent cold reads of one SSM parameter (Promise.all), backend calls made:')
for (const n of [64, 10_000]) {
  const client = Client.fromEnv()
  let started = performance.now()
  await Promise.all(Array.from({ length: n }, () => client.get(ssmRef)))
  const skMs = performance.now() - started
  const skCalls = client.stats().backendCalls.ssm

  const p = powertools()
  started = performance.now()
  await Promise.all(Array.from({ length: n }, () => p.ssm.get(SSM_NAME, { maxAge: MAX_AGE, decrypt: true })))
  const ptMs = performance.now() - started
  console.log(
    `  ${String(n).padStart(6)} reads: secretkit ${skCalls} call(s) in ${skMs.toFixed(1)} ms;` +
      ` Powertools ${p.ssmSdk.calls} calls in ${ptMs.toFixed(1)} ms (${p.ssmSdk.calls / skCalls}x the calls)`,
  )
  p.ssmSdk.destroy()
  p.asmSdk.destroy()
}
if (sink === 42) console.log() // keeps the timed loops' results alive
pt.ssmSdk.destroy()
pt.asmSdk.destroy()
