// The access audit trail and metrics from Node, against the real moto and
// OpenBao: every access of a scripted run reaches the JSON-lines file, the
// onRecords callback and the 'secretkit:audit' channel, attributed to the
// identity of the async context that read it, with no value; a process that
// exits without close() loses no record.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import diagnostics from 'node:diagnostics_channel'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Client, runWithIdentity } from 'secretkit'
import { SSM_PASSWORD, VAULT_CONFIG, explicitClient, rejection } from './helpers.mjs'

const SSM = 'ssm:/prod/myapp/db-password'
const ASM = 'asm:prod/myapp/db-credentials#password'
const KV = 'vault:secret/myapp/config#api_key'
const MISSING = 'ssm:/prod/myapp/not-there'

/** "reference outcome user" -> accesses. */
function tally(records) {
  const out = {}
  for (const r of records) {
    const key = `${r.reference} ${r.outcome} ${r.identity?.user ?? '-'}`
    out[key] = (out[key] ?? 0) + r.count
  }
  return out
}

test('every access is recorded once, with its identity, and never a value', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sk-audit-'))
  const file = join(dir, 'audit.jsonl')
  const got = []
  const published = []
  const onChannel = (message) => published.push(...message.records)
  diagnostics.subscribe('secretkit:audit', onChannel)
  const client = explicitClient({ audit: { file, interval: 0.2, onRecords: (r) => got.push(...r) } })
  try {
    await runWithIdentity({ user: 'alice', service: 'api' }, async () => {
      for (let i = 0; i < 5; i++) assert.equal((await client.get(SSM)).reveal(), SSM_PASSWORD)
      assert.equal((await rejection(client.get(MISSING))).code, 'NOT_FOUND')
    })
    // Delivered by the timer within the interval, without close().
    await new Promise((resolve) => setTimeout(resolve, 700))
    assert.equal(tally(got)[`${SSM} hit alice`], 4)

    const request = (user, rid) =>
      runWithIdentity({ user, requestId: rid }, async () => {
        await null
        await client.get(ASM)
        return client.getCached(ASM)
      })
    await Promise.all([request('bob', 'r-1'), request('carol', 'r-2')])
    assert.equal((await client.get(KV)).reveal(), VAULT_CONFIG.api_key) // no identity
    assert.equal(await runWithIdentity({ user: 'dave' }, () => client.getMany([SSM, SSM])).then((s) => s.length), 2)
  } finally {
    await client.close()
    diagnostics.unsubscribe('secretkit:audit', onChannel)
  }
  const lines = readFileSync(file, 'utf8')
  const fromFile = lines.trim().split('\n').map((l) => JSON.parse(l))
  const want = {
    [`${SSM} miss alice`]: 1,
    [`${SSM} hit alice`]: 4,
    [`${MISSING} error alice`]: 1,
    [`${ASM} miss|hit bob`]: 2,
    [`${ASM} miss|hit carol`]: 2,
    [`${KV} miss -`]: 1,
    [`${SSM} hit dave`]: 2,
  }
  // Bob's and Carol's first reads run together: the second joins the first
  // (a miss) or, when the read finished in between, is a hit. Either way
  // each access is recorded once, and the first of them is a miss.
  const together = (records) => {
    const t = tally(records)
    assert.ok(t[`${ASM} miss bob`] || t[`${ASM} miss carol`], 'the first ASM read is a miss')
    for (const user of ['bob', 'carol']) {
      const accesses = (t[`${ASM} miss ${user}`] ?? 0) + (t[`${ASM} hit ${user}`] ?? 0)
      delete t[`${ASM} miss ${user}`]
      delete t[`${ASM} hit ${user}`]
      t[`${ASM} miss|hit ${user}`] = accesses
    }
    return t
  }
  assert.deepEqual(together(fromFile), want)
  assert.deepEqual(together(got), want, 'the callback saw what the file holds')
  assert.deepEqual(together(published), want, 'and so did the channel')
  const bob = fromFile.find((r) => r.identity?.user === 'bob')
  assert.deepEqual(bob.identity, { requestId: 'r-1', user: 'bob' })
  assert.equal(fromFile.find((r) => r.reference === MISSING).error, 'not_found')
  for (const value of [SSM_PASSWORD, VAULT_CONFIG.api_key]) {
    assert.ok(!lines.includes(value) && !JSON.stringify(got).includes(value))
  }
})

test('records of a process that exits without close() are not lost', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sk-audit-'))
  const file = join(dir, 'audit.jsonl')
  const script = `
    const { Client, runWithIdentity } = require('secretkit')
    const client = Client.fromEnv({ audit: { file: ${JSON.stringify(file)}, interval: 60, onRecords: (r) => console.log(JSON.stringify(r)) } })
    runWithIdentity({ user: 'batch' }, async () => { for (let i = 0; i < 7; i++) await client.get(${JSON.stringify(SSM)}) })
  `
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 })
  const want = { [`${SSM} miss batch`]: 1, [`${SSM} hit batch`]: 6 }
  const fromFile = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  assert.deepEqual(tally(fromFile), want)
  assert.deepEqual(tally(out.trim().split('\n').flatMap((l) => JSON.parse(l))), want)
})

test('metricsText counts reads by backend and outcome, memo hits included', async () => {
  const client = Client.fromEnv()
  for (let i = 0; i < 4; i++) await client.get(SSM)
  await rejection(client.get(MISSING))
  const text = client.metricsText()
  assert.match(text, /secretkit_reads_total\{backend="ssm",outcome="hit"\} 3\n/)
  assert.match(text, /secretkit_reads_total\{backend="ssm",outcome="miss"\} 1\n/)
  assert.match(text, /secretkit_backend_read_seconds_count\{backend="ssm"\} 2\n/)
  assert.ok(!text.includes(SSM_PASSWORD))
  await client.close()
})

test('audit options are checked', () => {
  assert.throws(() => explicitClient({ audit: { fil: 'x' } }), /unknown audit "fil"/)
  assert.throws(() => explicitClient({ audit: { onRecords: 3 } }), /onRecords must be a function/)
  assert.throws(() => Client.fromEnv({ audit: { interval: 0 } }), /audit.interval/)
})
