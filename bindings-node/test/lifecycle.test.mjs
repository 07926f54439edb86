// The Vault lifecycle through the binding, against OpenBao's database engine
// and a real PostgreSQL (servers started with --vault-lifecycle). Logins are
// checked with the psql binary. The tests run concurrently: the rotation test
// waits for max_ttl (~27 s) and the others fit inside that wait.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { promisify } from 'node:util'
import { Client, Secret, SecretkitError } from 'secretkit'
import { putParameter, uniqueName } from './aws.mjs'
import { env, nextEvent, rejection, sleep } from './helpers.mjs'

const LIFECYCLE = [
  'SK_PG_HOST',
  'SK_PG_PORT',
  'SK_PG_DB',
  'SK_PG_ADMIN_USER',
  'SK_PG_ADMIN_PASSWORD',
  'SK_VAULT_DB_ROLE',
  'SK_DB_DEFAULT_TTL',
  'SK_DB_MAX_TTL',
  'SK_APPROLE_ROLE_ID_FILE',
  'SK_APPROLE_SECRET_ID_FILE',
]
const missing = LIFECYCLE.filter((name) => !env[name])
if (missing.length) {
  throw new Error(
    `lifecycle servers not configured (missing ${missing.join(', ')}): ` +
      'start them with `tests/servers.py start --env-file F --fixtures --vault-lifecycle` and source F',
  )
}

const ROLE = env.SK_VAULT_DB_ROLE
const REFERENCE = `vault:database/creds/${ROLE}`
const DEFAULT_TTL = Number(env.SK_DB_DEFAULT_TTL)
const MAX_TTL = Number(env.SK_DB_MAX_TTL)
const EVENT_KEYS = [
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
]

const run = promisify(execFile)

async function psql(user, password, sql) {
  const args = ['-h', env.SK_PG_HOST, '-p', env.SK_PG_PORT, '-U', user, '-d', env.SK_PG_DB, '-tAc', sql]
  const { stdout } = await run('psql', args, {
    env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' },
    timeout: 10_000,
  })
  return stdout.trim()
}

const countItems = (username, password) => psql(username, password, 'select count(*) from items')

async function roleExists(username) {
  assert.match(username, /^[\w-]+$/) // safe to quote below
  const sql = `select count(*) from pg_roles where rolname = '${username}'`
  return (await psql(env.SK_PG_ADMIN_USER, env.SK_PG_ADMIN_PASSWORD, sql)) === '1'
}

async function until(what, check, ms = 5000) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
    await sleep(100)
  }
}

function vaultClient(options = {}) {
  return new Client({ vault: { address: env.VAULT_ADDR, token: env.VAULT_TOKEN }, ...options })
}

function approleClient(auth) {
  return new Client({ vault: { address: env.VAULT_ADDR, auth: { method: 'approle', ...auth } } })
}

/** A promise of the first call of the returned callback, rejected after `ms`. */
function firstCall(ms) {
  let callback
  const called = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no call within ${ms} ms`)), ms)
    callback = (value) => {
      clearTimeout(timer)
      resolve(value)
    }
  })
  return { callback, called }
}

describe('Vault lifecycle', { concurrency: true }, () => {
  test('database credentials log in, a wrong password does not, close() revokes them', async () => {
    const client = vaultClient()
    const creds = await client.databaseCredentials(ROLE)
    assert.deepEqual(Object.keys(creds), ['username', 'password', 'lease', 'reference', 'unwatch'])
    assert.ok(creds.username.startsWith('v-token-'), creds.username)
    assert.ok(creds.password instanceof Secret)
    assert.equal(String(creds.password), `Secret(${REFERENCE}#password, <redacted>)`)
    assert.equal(creds.reference, REFERENCE)
    assert.ok(creds.lease.id.startsWith(`database/creds/${ROLE}/`), creds.lease.id)
    assert.equal(creds.lease.duration, DEFAULT_TTL)
    assert.equal(creds.lease.renewable, true)

    assert.equal(await countItems(creds.username, creds.password.reveal()), '3')
    await assert.rejects(countItems(creds.username, 'wrong-password'), /password authentication failed/)
    assert.equal(await roleExists(creds.username), true)

    assert.equal(await client.close(), 1)
    assert.equal(await roleExists(creds.username), false)
    await assert.rejects(countItems(creds.username, creds.password.reveal()), /password authentication failed/)
  })

  test('renewed and rotated events (also through onChange); the new credentials log in', async () => {
    const started = Date.now()
    const client = vaultClient({ revokeReplacedAfter: 1 })
    const rotatedEvents = []
    client.on('rotated', (e) => rotatedEvents.push(e))
    const renewed = nextEvent(client, 'renewed', { ms: DEFAULT_TTL * 1000 })
    const rotated = nextEvent(client, 'rotated', { ms: (MAX_TTL + 5) * 1000 })
    const heard = firstCall((MAX_TTL + 5) * 1000)
    const creds = await client.databaseCredentials(ROLE, { onChange: heard.callback })
    const password = creds.password.reveal()

    const renewal = await renewed
    assert.deepEqual(Object.keys(renewal), EVENT_KEYS)
    assert.equal(renewal.kind, 'renewed')
    assert.equal(renewal.reference, REFERENCE)
    assert.equal(renewal.leaseId, creds.lease.id)
    assert.equal(renewal.username, creds.username)
    assert.ok(renewal.ttlSecs > 0 && renewal.ttlSecs <= DEFAULT_TTL, `ttlSecs ${renewal.ttlSecs}`)
    assert.equal(renewal.oldLeaseId, null)
    assert.equal(renewal.error, null)
    assert.ok((Date.now() - started) / 1000 < DEFAULT_TTL, 'renewed before the first lease ran out')

    const [rotation, onChangeEvent] = await Promise.all([rotated, heard.called])
    assert.ok((Date.now() - started) / 1000 <= MAX_TTL + 5, 'rotated before max_ttl')
    for (const event of [rotation, onChangeEvent]) {
      assert.deepEqual(Object.keys(event), EVENT_KEYS)
      assert.equal(event.kind, 'rotated')
      assert.equal(event.reference, REFERENCE)
      assert.equal(event.oldLeaseId, creds.lease.id)
      assert.notEqual(event.leaseId, creds.lease.id)
      assert.ok(event.leaseId.startsWith(`database/creds/${ROLE}/`))
      assert.equal(event.oldUsername, creds.username)
      assert.ok(event.username.startsWith('v-token-') && event.username !== creds.username, event.username)
    }
    assert.deepEqual(onChangeEvent, rotation)

    const fresh = await client.databaseCredentials(ROLE)
    assert.equal(fresh.username, rotation.username)
    assert.equal(fresh.lease.id, rotation.leaseId)
    const freshPassword = fresh.password.reveal()
    assert.notEqual(freshPassword, password)
    for (const event of [renewal, ...rotatedEvents]) {
      const text = JSON.stringify(event)
      assert.ok(!text.includes(password) && !text.includes(freshPassword), 'no password in an event')
    }
    assert.equal(await countItems(fresh.username, freshPassword), '3')
    // revokeReplacedAfter: 1 revokes the replaced lease a second later.
    await until('the replaced role is dropped', async () => !(await roleExists(creds.username)))

    creds.unwatch()
    creds.unwatch() // harmless twice
    assert.equal(await client.close(), 1)
    assert.equal(await roleExists(fresh.username), false)
  })

  test('an explicit AppRole config logs in from the files, or from inline values', async () => {
    const fromFiles = approleClient({
      roleIdFile: env.SK_APPROLE_ROLE_ID_FILE,
      secretIdFile: env.SK_APPROLE_SECRET_ID_FILE,
    })
    const inline = approleClient({
      roleId: readFileSync(env.SK_APPROLE_ROLE_ID_FILE, 'utf8').trim(),
      secretId: readFileSync(env.SK_APPROLE_SECRET_ID_FILE, 'utf8').trim(),
      mount: 'approle',
    })
    const usernames = []
    for (const client of [fromFiles, inline]) {
      const creds = await client.databaseCredentials(ROLE)
      assert.ok(creds.username.startsWith('v-approle-'), creds.username)
      assert.equal(await countItems(creds.username, creds.password.reveal()), '3')
      assert.equal((await client.get('vault:secret/myapp/config#db_host')).reveal(), 'mydb.internal')
      usernames.push(creds.username)
    }
    assert.equal(await fromFiles.close(), 1)
    await inline[Symbol.asyncDispose]() // what `await using` calls
    for (const username of usernames) assert.equal(await roleExists(username), false)
    assert.equal(await inline.close(), 0, 'already closed')
  })

  test('Client.fromEnv logs in with VAULT_ROLE_ID_FILE / VAULT_SECRET_ID_FILE', async () => {
    const script = `
      import { Client } from 'secretkit'
      const client = Client.fromEnv()
      const creds = await client.databaseCredentials('${ROLE}')
      console.log(creds.username.split('-').slice(0, 2).join('-'), await client.close())
    `
    const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('..', import.meta.url),
      env: {
        ...process.env,
        VAULT_ROLE_ID_FILE: env.SK_APPROLE_ROLE_ID_FILE,
        VAULT_SECRET_ID_FILE: env.SK_APPROLE_SECRET_ID_FILE,
      },
      timeout: 20_000,
    })
    assert.equal(stdout.trim(), 'v-approle 1')
    assert.equal(stderr, '')
  })

  test('a process holding watched leases exits on its own', async () => {
    const script = `
      import { Client } from 'secretkit'
      const client = new Client({ vault: { address: '${env.VAULT_ADDR}', token: '${env.VAULT_TOKEN}' } })
      client.on('renewed', () => {})
      const creds = await client.databaseCredentials('${ROLE}', { onChange: () => {} })
      console.log('read', String(creds.password))
    `
    const started = Date.now()
    const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('..', import.meta.url),
      timeout: 20_000,
    })
    assert.equal(stdout.trim(), `read Secret(${REFERENCE}#password, <redacted>)`)
    assert.equal(stderr, '')
    assert.ok(Date.now() - started < 10_000, 'no lifecycle timer kept the process alive')
  })

  test('revokeOnClose: false leaves the lease to run out', async () => {
    const client = vaultClient({ revokeOnClose: false })
    const creds = await client.databaseCredentials(ROLE)
    assert.equal(await client.close(), 0)
    assert.equal(await roleExists(creds.username), true)
    assert.equal(await countItems(creds.username, creds.password.reveal()), '3')
  })

  test('auth and lifecycle options are checked', async () => {
    const config = (auth) => () => new Client({ vault: { address: env.VAULT_ADDR, auth } })
    const bad = [
      [config({ method: 'ldap' }), /method must be 'approle', 'kubernetes', 'jwt' or 'token_file', got 'ldap'/],
      [config({ method: 'approle', roleId: 'r' }), /secretId or secretIdFile is required/],
      [config({ method: 'approle', roleId: 'r', roleIdFile: '/f', secretId: 's' }), /roleId or roleIdFile, not both/],
      [config({ method: 'jwt', jwt: 'j' }), /role is required/],
      [config({ method: 'kubernetes' }), /role is required/],
      [config({ method: 'token_file' }), /path is required/],
      [() => new Client({ vault: { address: env.VAULT_ADDR } }), /without a token/],
      [() => vaultClient({ revokeReplacedAfter: -1 }), /revokeReplacedAfter must be a non-negative number/],
    ]
    for (const [build, message] of bad) {
      assert.throws(build, (err) => err instanceof SecretkitError && err.code === 'CONFIG' && message.test(err.message))
    }
    vaultClient({ revokeReplacedAfter: null, revokeOnClose: true })
    new Client({ vault: { address: env.VAULT_ADDR, auth: { method: 'kubernetes', role: 'r' } } })

    // Login material is read at login: a missing file is a CONFIG error then, naming the file.
    const client = approleClient({ roleIdFile: '/nonexistent/role-id', secretId: 'x' })
    const err = await rejection(client.get('vault:secret/myapp/config'))
    assert.ok(err instanceof SecretkitError)
    assert.equal(err.code, 'CONFIG')
    assert.match(err.message, /\/nonexistent\/role-id/)
  })
})

test('watch: new versions of one secret, any #field; the returned function stops it', async () => {
  const name = `/${uniqueName('sk-node-watch')}`
  const other = `/${uniqueName('sk-node-watch-other')}`
  await putParameter(name, 'one')
  await putParameter(other, 'x')
  const client = Client.fromEnv()
  await client.get(`ssm:${name}`)
  await client.get(`ssm:${other}`)
  const seen = []
  const unwatch = client.watch(`ssm:${name}?ttl=5`, (e) => seen.push(e))
  assert.equal(typeof unwatch, 'function')

  await putParameter(name, 'two')
  await putParameter(other, 'y')
  await client.refresh(`ssm:${name}`)
  await client.refresh(`ssm:${other}`)
  await client.refresh(`ssm:${name}`) // same version: 'refreshed', not watched
  await sleep(50)
  assert.equal(seen.length, 1)
  assert.deepEqual(Object.keys(seen[0]), EVENT_KEYS)
  assert.equal(seen[0].kind, 'changed')
  assert.equal(seen[0].reference, `ssm:${name}`)
  assert.equal(seen[0].oldVersion, '1')
  assert.equal(seen[0].newVersion, '2')
  assert.equal(seen[0].leaseId, null)
  assert.equal(seen[0].ttlSecs, null)

  unwatch()
  unwatch()
  await putParameter(name, 'three')
  await client.refresh(`ssm:${name}`)
  await sleep(50)
  assert.equal(seen.length, 1, 'nothing after unwatch')

  // close() ends the watches too.
  client.watch(`ssm:${name}`, (e) => seen.push(e))
  assert.equal(await client.close(), 0)
  await putParameter(name, 'four')
  // A closed client reads nothing more (a new lease would never be renewed or revoked).
  await assert.rejects(client.refresh(`ssm:${name}`), { code: 'CONFIG', message: /closed/ })
  // Nor answers from what it cached or memoized before.
  await assert.rejects(client.get(`ssm:${name}`), (err) => {
    assert.equal(err.code, 'CONFIG')
    assert.equal(err.reference, `ssm:${name}`)
    return true
  })
  await sleep(50)
  assert.equal(seen.length, 1, 'nothing after close')

  assert.throws(() => client.watch('nope', () => {}), { code: 'INVALID_REFERENCE' })
  assert.throws(() => client.watch(`ssm:${name}`), TypeError)
  await assert.rejects(client.databaseCredentials(ROLE, { onChange: 1 }), TypeError)
})
