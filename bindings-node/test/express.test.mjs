// The Express example (examples/express/app.js) as a service under load:
// GET /items through secretkit/pg with Vault dynamic credentials at short
// TTLs, across at least 3 rotations, with 0 failed requests; then SIGTERM
// mid-load: every request the server answers is a 200, the process exits 0
// after closing its pool, and closing the client revokes its lease (the
// database role is dropped). With SECRETKIT_AUDIT_FILE the example's reads
// are audited under their request ids, and /metrics shows the rotations.
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, test } from 'node:test'
import pg from 'pg'
import { SSM_PASSWORD, VAULT_CONFIG, env, until, vaultApi } from './helpers.mjs'

const EXAMPLE = fileURLToPath(new URL('../../examples/express/', import.meta.url))
const ROLE = 'sk-express-short'
// Renewed at 2/3 of 3 s, replaced when a renewal comes back short: new
// credentials about every 4-5 s, so 3 rotations in under 25 s.
const TTL = '3s'
const MAX_TTL = '6s'
const DB = { host: env.SK_PG_HOST, port: Number(env.SK_PG_PORT), database: env.SK_PG_DB }
const admin = new pg.Pool({ ...DB, user: env.SK_PG_ADMIN_USER, password: env.SK_PG_ADMIN_PASSWORD, max: 1 })

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

before(async () => {
  // express and pg for the example; secretkit is a link to this package.
  if (!existsSync(`${EXAMPLE}node_modules/express`)) {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: EXAMPLE, stdio: 'inherit' })
  }
  const model = (await vaultApi('GET', `database/roles/${env.SK_VAULT_DB_ROLE}`)).data
  await vaultApi('POST', `database/roles/${ROLE}`, {
    db_name: model.db_name,
    creation_statements: model.creation_statements,
    default_ttl: TTL,
    max_ttl: MAX_TTL,
  })
})

after(() => admin.end())

test('under load across 3 rotations no request fails, and SIGTERM shuts down cleanly', { timeout: 120_000 }, async () => {
  const port = await freePort()
  const auditFile = join(mkdtempSync(join(tmpdir(), 'sk-express-')), 'audit.jsonl')
  const app = spawn(process.execPath, ['app.js'], {
    cwd: EXAMPLE,
    env: {
      ...process.env,
      PORT: String(port),
      DB_VAULT_ROLE: ROLE,
      DB_HOST: DB.host,
      DB_PORT: String(DB.port),
      DB_NAME: DB.database,
      SECRETKIT_AUDIT_FILE: auditFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  app.stdout.on('data', (chunk) => (log += chunk))
  app.stderr.on('data', (chunk) => (log += chunk))
  const exited = new Promise((resolve) => app.once('exit', (code, signal) => resolve({ code, signal })))
  try {
    await until('the example listening', () => log.includes('listening on'), 30_000)

    // 8 clients, each sending its next request when the last is answered.
    const answers = []
    const failures = []
    let signalledAt = null
    let stop = false
    const url = `http://127.0.0.1:${port}/items`
    async function client() {
      while (!stop) {
        const started = Date.now()
        try {
          const response = await fetch(url)
          const body = await response.json()
          if (response.status === 200) answers.push({ started, user: body.user })
          else failures.push({ started, what: `${response.status} ${JSON.stringify(body)}` })
        } catch (err) {
          failures.push({ started, what: `${err.cause?.code ?? err.message}` })
          if (signalledAt !== null) return // the server is closed: this client is done
        }
      }
    }
    const clients = Array.from({ length: 8 }, client)

    const users = () => [...new Set(answers.map((a) => a.user))]
    await until('3 rotations under load', () => users().length >= 4, 60_000)
    const beforeSignal = failures.filter((f) => signalledAt === null || f.started < signalledAt)
    assert.deepEqual(beforeSignal, [], log.slice(-3000))
    const lastUser = answers.at(-1).user
    // A request's reads are audited under its id; the metrics show the lease.
    const probe = await fetch(`http://127.0.0.1:${port}/secrets`, { headers: { 'x-request-id': 'audit-probe' } })
    assert.equal(probe.status, 200)
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    assert.match(metrics, /secretkit_reads_total\{backend="vault",outcome="rotated"\} [1-9]/)
    assert.ok(metrics.includes(`secretkit_lease_ttl_seconds{reference="vault:database/creds/${ROLE}"}`), metrics)

    signalledAt = Date.now()
    app.kill('SIGTERM')
    const { code, signal } = await exited
    stop = true
    await Promise.all(clients)

    assert.equal(code, 0, `exit ${code} ${signal}\n${log.slice(-3000)}`)
    // Every request the server answered was answered in full; once it had
    // closed, new requests were refused at the door (connection errors only).
    const answeredBadly = failures.filter((f) => /^\d/.test(f.what))
    assert.deepEqual(answeredBadly, [], log.slice(-3000))
    assert.ok(failures.every((f) => f.started >= signalledAt - 50), JSON.stringify(failures))
    assert.match(log, /SIGTERM: finishing in-flight requests/)
    const revoked = Number(/stopped \((\d+) Vault lease\(s\) revoked\)/.exec(log)?.[1])
    assert.ok(revoked >= 1, log.slice(-3000))
    const { rows } = await admin.query('select count(*)::int as n from pg_roles where rolname = $1', [lastUser])
    assert.equal(rows[0].n, 0, `${lastUser}: its lease was revoked, so its role is gone`)
    // The audit file, complete after the SIGTERM shutdown: the probe's three
    // reads under its request id, each rotation, and no value.
    const audit = readFileSync(auditFile, 'utf8')
    const records = audit.trim().split('\n').map((l) => JSON.parse(l))
    const probed = records.filter((r) => r.identity?.requestId === 'audit-probe')
    assert.deepEqual(probed.map((r) => r.reference).sort(), [
      'asm:prod/myapp/db-credentials#password',
      'ssm:/prod/myapp/db-password',
      'vault:secret/myapp/config#api_key',
    ])
    const rotations = records.filter((r) => r.outcome === 'rotated' && r.reference === `vault:database/creds/${ROLE}`)
    assert.ok(rotations.length >= 3 && rotations.every((r) => r.lease_id), audit.slice(-2000))
    for (const value of [SSM_PASSWORD, VAULT_CONFIG.api_key]) assert.ok(!audit.includes(value))
    console.log(
      `express under load: ${answers.length} requests, 0 failed, ${users().length} database users ` +
        `(${users().length - 1} rotations); SIGTERM: exit 0, ${revoked} lease(s) revoked, ` +
        `${failures.length} requests refused after close`,
    )
  } finally {
    if (app.exitCode === null && app.signalCode === null) app.kill('SIGKILL')
  }
})
