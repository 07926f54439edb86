// secretkit/pg against the real servers (started with --vault-lifecycle):
// OpenBao's database engine issuing PostgreSQL roles, a private PostgreSQL
// with scram authentication (a wrong or revoked password is refused), and
// moto for the Secrets Manager / SSM sources. The tests run concurrently: the
// rotation test waits for two rotations of a short-lived role it creates
// (~27 s) and the others fit inside that wait.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { after, before, describe, test } from 'node:test'
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import pg from 'pg'
import { Client, SecretkitError } from 'secretkit'
import * as pgEsm from 'secretkit/pg'
import { createPool, isAuthFailure, SecretPool } from 'secretkit/pg'
import { createSecret, putParameter, uniqueName } from './aws.mjs'
import { env, explicitClient, nextEvent, rejection, sleep, until, vaultApi } from './helpers.mjs'

const LIFECYCLE = ['SK_PG_HOST', 'SK_PG_PORT', 'SK_PG_DB', 'SK_PG_ADMIN_USER', 'SK_PG_ADMIN_PASSWORD', 'SK_VAULT_DB_ROLE']
const missing = LIFECYCLE.filter((name) => !env[name])
if (missing.length) {
  throw new Error(
    `lifecycle servers not configured (missing ${missing.join(', ')}): ` +
      'start them with `tests/servers.py start --env-file F --fixtures --vault-lifecycle` and source F',
  )
}

const DB = { host: env.SK_PG_HOST, port: Number(env.SK_PG_PORT), database: env.SK_PG_DB }
const LONG_ROLE = 'myapp-long' // default_ttl 60 s: no rotation of its own during a test
// Made by this file: two rotations take ~27 s (the fixture role's max_ttl of
// 30 s would need ~55 s). Renewed at 2/3 of 6 s (~4, ~8, ~12 s); the third
// renewal comes back short (3-4 s left of max_ttl), so the replacement is
// read while the old lease still has ~3 s to run. (A shorter grant would be
// cut close: the core starts the replacement at its next tick, up to 1 s later.)
const SHORT_ROLE = 'sk-node-pg-short'
const SHORT_TTL = 6
const SHORT_MAX_TTL = 16
const COUNT_ITEMS = 'select current_user as "user", count(*)::int as n from items'

const admin = new pg.Pool({ ...DB, user: env.SK_PG_ADMIN_USER, password: env.SK_PG_ADMIN_PASSWORD, max: 2 })

async function adminQuery(sql, params) {
  return (await admin.query(sql, params)).rows
}

/** Sessions of `user` in pg_stat_activity. */
async function connectionsOf(user) {
  const rows = await adminQuery('select count(*)::int as n from pg_stat_activity where usename = $1', [user])
  return rows[0].n
}

async function roleExists(user) {
  const rows = await adminQuery('select count(*)::int as n from pg_roles where rolname = $1', [user])
  return rows[0].n === 1
}

const noConnections = (user) => until(`no connection of ${user} left`, async () => (await connectionsOf(user)) === 0)

/** A login role in app_readers, for the Secrets Manager and SSM sources. */
async function createRole() {
  const user = `sk_pg_${randomBytes(6).toString('hex')}`
  const password = randomBytes(12).toString('hex')
  await adminQuery(`create role "${user}" login password '${password}' in role app_readers`)
  return { user, password }
}

async function setPassword(user, password) {
  await adminQuery(`alter role "${user}" password '${password}'`)
}

async function dropRole(user) {
  await adminQuery(`drop role if exists "${user}"`)
}

async function putSecretValue(name, value) {
  const asm = new SecretsManagerClient({
    region: env.AWS_REGION,
    endpoint: env.AWS_ENDPOINT_URL,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  })
  try {
    await asm.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }))
  } finally {
    asm.destroy()
  }
}

const vaultClient = (options = {}) => new Client({ vault: { address: env.VAULT_ADDR, token: env.VAULT_TOKEN }, ...options })

/** Resolves with the next `kind` event of a SecretPool, or rejects after `ms`. */
function poolEvent(pool, kind, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${kind}' pool event within ${ms} ms`)), ms)
    pool.once(kind, (event) => {
      clearTimeout(timer)
      resolve(event)
    })
  })
}

/** Removes a client from its pool (destroyed, not kept idle), so the next query logs in anew. */
async function dropIdleConnection(pool) {
  const conn = await pool.connect()
  conn.release(true)
  await until('the pool holds no connection', () => pool.totalCount === 0)
}

before(async () => {
  const { data } = await vaultApi('GET', `database/roles/${env.SK_VAULT_DB_ROLE}`)
  await vaultApi('POST', `database/roles/${SHORT_ROLE}`, {
    db_name: data.db_name,
    creation_statements: data.creation_statements,
    default_ttl: SHORT_TTL,
    max_ttl: SHORT_MAX_TTL,
  })
})

after(async () => {
  await vaultApi('DELETE', `database/roles/${SHORT_ROLE}`)
  await admin.end()
})

describe('secretkit/pg', { concurrency: true }, () => {
  test('Vault dynamic credentials: 0 failed queries under a steady loop across 2 rotations; old pools end', async () => {
    const client = vaultClient()
    const pool = await createPool(client, { credentials: { vaultRole: SHORT_ROLE }, ...DB, max: 4 })
    assert.ok(pool instanceof SecretPool)
    const first = pool.username
    assert.ok(first.startsWith('v-token-'), first)

    const switches = []
    const drained = []
    const retiredChecks = []
    pool.on('credentials', (e) => switches.push({ ...e, at: performance.now() }))
    pool.on('drained', (e) => {
      drained.push(e.username)
      // Retired: once its pool has ended, the old user has no session left.
      retiredChecks.push(noConnections(e.username))
    })
    const poolErrors = []
    pool.on('error', (err) => poolErrors.push(err))

    // 8 workers on a pool of 4, so requests also wait in a pool's queue when
    // it is switched; plus a 0.8 s query always in flight.
    let running = true
    let ok = 0
    const failures = []
    const users = new Set()
    const worker = async () => {
      while (running) {
        try {
          const { rows } = await pool.query(COUNT_ITEMS)
          assert.equal(rows[0].n, 3)
          users.add(rows[0].user)
          ok += 1
        } catch (err) {
          failures.push(err)
        }
        await sleep(20)
      }
    }
    const slow = []
    const slowWorker = async () => {
      while (running) {
        const started = performance.now()
        try {
          const { rows } = await pool.query('select current_user as "user", pg_sleep(0.8)')
          slow.push({ started, ended: performance.now(), user: rows[0].user })
        } catch (err) {
          failures.push(err)
        }
      }
    }
    const started = Date.now()
    const workers = [...Array.from({ length: 8 }, worker), slowWorker()]
    await until('two credential switches', () => switches.length >= 2, 40_000)
    await sleep(1500) // queries on the second generation, and its predecessor drained
    running = false
    await Promise.all(workers)
    const elapsed = (Date.now() - started) / 1000

    assert.deepEqual(failures, [], `${failures.length} failed queries`)
    assert.deepEqual(poolErrors, [])
    assert.ok(ok > 100, `${ok} queries`)
    assert.equal(switches[0].oldUsername, first)
    assert.equal(switches[1].oldUsername, switches[0].username)
    assert.equal(pool.username, switches.at(-1).username)
    for (const s of switches) assert.ok(s.username.startsWith('v-token-') && s.username !== s.oldUsername)
    for (const user of [first, switches[0].username, switches[1].username]) assert.ok(users.has(user), `queries ran as ${user}`)

    // In flight across a switch: started on the old generation, finished after the switch, as the old user.
    const across = slow.filter((q) => switches.some((s) => q.started < s.at && q.ended > s.at && q.user === s.oldUsername))
    assert.ok(across.length >= 1, 'a slow query spanned a switch')

    await until('both old pools drained', () => drained.length >= 2)
    assert.deepEqual(drained.slice(0, 2), [first, switches[0].username])
    await Promise.all(retiredChecks)
    console.log(
      `pg rotation: ${ok} queries in ${elapsed.toFixed(1)} s, 0 failed, ${switches.length} switches, ` +
        `${across.length} slow queries across a switch`,
    )

    const current = pool.username
    await pool.end() // 'drained' for the current pool too
    assert.equal(drained.at(-1), current)
    await Promise.all(retiredChecks)
    assert.ok((await client.close()) >= 1)
    await until('the current role is dropped', async () => !(await roleExists(current)))
  })

  test('a checked-out client keeps working across a switch; its pool ends when it is released', async () => {
    const client = vaultClient()
    const pool = await createPool(client, { credentials: { vaultRole: LONG_ROLE }, ...DB })
    const conn = await pool.connect()
    const old = (await conn.query('select current_user as "user"')).rows[0].user
    assert.equal(old, pool.username)

    const inFlight = conn.query('select current_user as "user", pg_sleep(0.5)')
    const switched = poolEvent(pool, 'credentials')
    const drained = poolEvent(pool, 'drained')
    await client.refresh(`vault:database/creds/${LONG_ROLE}`) // a new lease: 'rotated'
    const { username, oldUsername } = await switched
    assert.equal(oldUsername, old)
    assert.notEqual(username, old)
    assert.equal((await pool.query(COUNT_ITEMS)).rows[0].user, username)

    assert.equal((await inFlight).rows[0].user, old)
    assert.equal((await conn.query(COUNT_ITEMS)).rows[0].n, 3, 'the old connection still queries')
    assert.equal(await connectionsOf(old), 1, 'kept while checked out')
    conn.release()
    assert.deepEqual(await drained, { username: old })
    await noConnections(old)

    await pool.end()
    await noConnections(username)
    await client.close()
    assert.equal(await roleExists(username), false)
  })

  test('a login refused after the lease was revoked behind the client: one refresh, one retry', async () => {
    const client = vaultClient()
    const pool = await createPool(client, { credentials: { vaultRole: LONG_ROLE }, ...DB, max: 2 })
    const first = pool.username
    assert.equal((await pool.query(COUNT_ITEMS)).rows[0].user, first)
    await dropIdleConnection(pool)

    const creds = await client.databaseCredentials(LONG_ROLE) // the pool's, from the cache
    assert.equal(creds.username, first)
    await vaultApi('PUT', 'sys/leases/revoke', { lease_id: creds.lease.id })
    assert.equal(await roleExists(first), false, 'the password stopped working')

    const rotated = []
    client.on('rotated', (e) => rotated.push(e))
    const vaultCalls = client.stats().backendCalls.vault
    const switched = poolEvent(pool, 'credentials')
    const [a, b] = await Promise.all([pool.query(COUNT_ITEMS), pool.query(COUNT_ITEMS)])
    const { username } = await switched
    assert.notEqual(username, first)
    assert.equal(a.rows[0].user, username)
    assert.equal(b.rows[0].user, username)
    assert.equal(client.stats().backendCalls.vault - vaultCalls, 1, 'one refresh for both failed logins')
    await sleep(50)
    assert.equal(rotated.length, 1)

    await pool.end()
    await client.close()
    assert.equal(await roleExists(username), false)
  })

  test('a Secrets Manager username + password; after put-secret-value and refresh new connections use the new ones', async () => {
    const one = await createRole()
    const two = await createRole()
    const name = uniqueName('sk-node-pg')
    await createSecret(name, JSON.stringify({ username: one.user, password: one.password }))
    const client = explicitClient()
    const pool = await createPool(client, {
      credentials: { username: `asm:${name}#username`, password: `asm:${name}#password` },
      ...DB,
    })
    assert.equal(pool.username, one.user)
    assert.deepEqual((await pool.query(COUNT_ITEMS)).rows[0], { user: one.user, n: 3 })
    const held = await pool.connect()

    const switched = poolEvent(pool, 'credentials')
    const drained = poolEvent(pool, 'drained')
    await putSecretValue(name, JSON.stringify({ username: two.user, password: two.password }))
    await client.refresh(`asm:${name}`) // 'changed'
    assert.deepEqual(await switched, { username: two.user, oldUsername: one.user })
    assert.deepEqual((await pool.query(COUNT_ITEMS)).rows[0], { user: two.user, n: 3 })
    assert.equal((await held.query(COUNT_ITEMS)).rows[0].user, one.user, 'a checked-out client is not cut')
    held.release()
    assert.deepEqual(await drained, { username: one.user })
    await noConnections(one.user)

    await pool.end()
    await noConnections(two.user)
    await client.close()
    await Promise.all([dropRole(one.user), dropRole(two.user)])
  })

  test('a fixed user with a password reference: a refused login refreshes once and retries once', async () => {
    const role = await createRole()
    const parameter = `/${uniqueName('sk-node-pg')}`
    await putParameter(parameter, role.password)
    const client = explicitClient()
    const pool = await createPool(client, { credentials: { user: role.user, password: `ssm:${parameter}` }, ...DB, max: 1 })
    assert.equal((await pool.query(COUNT_ITEMS)).rows[0].user, role.user)
    await dropIdleConnection(pool)

    // The password changes in the database and in SSM; the cache still has the old one.
    const rotatedPassword = randomBytes(12).toString('hex')
    await setPassword(role.user, rotatedPassword)
    await putParameter(parameter, rotatedPassword)
    let ssmCalls = client.stats().backendCalls.ssm
    const switched = poolEvent(pool, 'credentials')
    assert.equal((await pool.query(COUNT_ITEMS)).rows[0].user, role.user)
    assert.deepEqual(await switched, { username: role.user, oldUsername: role.user })
    assert.equal(client.stats().backendCalls.ssm - ssmCalls, 1, 'one refresh')

    // Refused with what the backend holds too: one refresh, one retry, then the login error.
    await dropIdleConnection(pool)
    await setPassword(role.user, randomBytes(12).toString('hex'))
    ssmCalls = client.stats().backendCalls.ssm
    const err = await rejection(pool.query(COUNT_ITEMS))
    assert.equal(err.code, '28P01', err.message)
    assert.ok(isAuthFailure(err))
    assert.equal(client.stats().backendCalls.ssm - ssmCalls, 1)
    // ...refused again at once: no refresh for the same credentials, only the retry...
    await rejection(pool.query(COUNT_ITEMS))
    assert.equal(client.stats().backendCalls.ssm - ssmCalls, 1)
    // ...after 1 s it is read again (a single-user rotation's window may have ended), then quiet for 2 s.
    await sleep(1100)
    await rejection(pool.query(COUNT_ITEMS))
    assert.equal(client.stats().backendCalls.ssm - ssmCalls, 2)
    await rejection(pool.query(COUNT_ITEMS))
    assert.equal(client.stats().backendCalls.ssm - ssmCalls, 2)

    await pool.end()
    await client.close()
    await dropRole(role.user)
  })

  test('pool.end() waits for checked-out clients, then client.close() revokes the lease: nothing left', async () => {
    let built = 0
    class CountingPool extends pg.Pool {
      constructor(config) {
        super(config)
        built += 1
      }
    }
    const client = vaultClient()
    const pool = await createPool(client, { credentials: { vaultRole: env.SK_VAULT_DB_ROLE }, ...DB, Pool: CountingPool })
    const user = pool.username
    await Promise.all(Array.from({ length: 5 }, () => pool.query(COUNT_ITEMS)))
    // pg's callback forms too.
    const viaCallback = await new Promise((resolve, reject) => {
      pool.query('select $1::int as n', [7], (err, res) => (err ? reject(err) : resolve(res.rows[0].n)))
    })
    assert.equal(viaCallback, 7)
    await new Promise((resolve, reject) => {
      pool.connect((err, conn, release) => {
        if (err) return reject(err)
        assert.equal(conn.release, release)
        release()
        resolve()
      })
    })
    const held = await pool.connect()
    assert.ok((await connectionsOf(user)) >= 1)
    assert.equal(built, 1)

    const ending = pool.end()
    assert.equal(pool.ending, true)
    assert.equal(pool.end(), ending, 'end() twice is the same end')
    await assert.rejects(pool.query('select 1'), /Cannot use a pool after calling end on the pool/)
    await sleep(200)
    assert.equal(pool.ended, false, 'a checked-out client holds the end')
    assert.equal((await held.query(COUNT_ITEMS)).rows[0].n, 3)
    held.release()
    await ending
    assert.equal(pool.ended, true)
    assert.equal(pool.totalCount, 0)
    await noConnections(user)

    assert.equal(await client.close(), 1)
    assert.equal(await roleExists(user), false)
  })

  test('createPool checks its arguments', async () => {
    const client = explicitClient()
    const bad = [
      [{ credentials: { vaultRole: 'r', password: 'ssm:/p' } }, /credentials takes/],
      [{ credentials: { user: 'u' } }, /credentials.password must be a non-empty string/],
      [{ credentials: { username: 'asm:a#username', mount: 'm' } }, /credentials takes/],
      [{}, /credentials is required/],
      [{ credentials: { vaultRole: '' } }, /vaultRole must be a non-empty string/],
      [{ credentials: { user: 'u', password: 'ssm:/p' }, user: 'x' }, /the user comes from options.credentials/],
      [{ credentials: { user: 'u', password: 'ssm:/p' }, password: 'x' }, /the password comes from options.credentials/],
      [{ credentials: { user: 'u', password: 'ssm:/p' }, connectionString: 'postgresql://u:pw@db/app' }, /must not carry/],
      [{ credentials: { user: 'u', password: 'ssm:/p' }, Pool: 1 }, /options.Pool must be a Pool class/],
    ]
    for (const [options, message] of bad) {
      await assert.rejects(createPool(client, options), (err) => err instanceof TypeError && message.test(err.message))
    }
    await assert.rejects(createPool({}, { credentials: { vaultRole: 'r' } }), /must be a secretkit Client/)
    await assert.rejects(createPool(client, { credentials: { user: 'u', password: 'nope' } }), {
      code: 'INVALID_REFERENCE',
    })
    const err = await rejection(createPool(client, { credentials: { user: 'u', password: 'asm:sk-node-pg-missing' }, ...DB }))
    assert.ok(err instanceof SecretkitError)
    assert.equal(err.code, 'NOT_FOUND')
    await client.close()
  })
})

test('secretkit/pg: CommonJS require and ESM import give the same functions', () => {
  const cjs = createRequire(import.meta.url)('secretkit/pg')
  for (const name of ['createPool', 'SecretPool', 'isAuthFailure']) {
    assert.equal(typeof cjs[name], 'function', name)
    assert.equal(pgEsm[name], cjs[name], name)
    assert.equal(pgEsm.default[name], cjs[name], name)
  }
  assert.equal(isAuthFailure({ code: '28000' }), true)
  assert.equal(isAuthFailure({ code: '42501' }), false)
  assert.equal(isAuthFailure(null), false)
  assert.throws(() => new SecretPool(), /use createPool/)
})
