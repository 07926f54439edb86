// secretkit/rotation: the Node Lambda handlers over the Rust rotation code,
// against moto and the private PostgreSQL. moto cannot invoke a Lambda (no
// Docker): RotateSecret naming an unknown function still registers the new
// version as AWSPENDING, the state the service leaves before calling the
// function; the test sends the four events itself and, at the end, takes
// AWSPENDING off as the service does (ROTATION.md).
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  CreateSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager'
import pg from 'pg'
import { SecretkitError } from 'secretkit'
import { createPool } from 'secretkit/pg'
import { postgresql } from 'secretkit/rotation'
import { env, explicitClient, sleep } from './helpers.mjs'

const sm = new SecretsManagerClient({ region: env.AWS_REGION, endpoint: env.AWS_ENDPOINT_URL })
const DB = { host: env.SK_PG_HOST, port: Number(env.SK_PG_PORT), database: env.SK_PG_DB }

async function query(user, password, sql, params = []) {
  const client = new pg.Client({ ...DB, user, password })
  await client.connect()
  try {
    return await client.query(sql, params)
  } finally {
    await client.end()
  }
}

async function logsIn(user, password) {
  try {
    await query(user, password, 'SELECT 1')
    return true
  } catch {
    return false
  }
}

async function current(arn) {
  const out = await sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' }))
  return JSON.parse(out.SecretString)
}

const FUNCTION = 'arn:aws:lambda:us-east-1:123456789012:function:secretkit-rotation-test'
const ADMIN = [env.SK_PG_ADMIN_USER, env.SK_PG_ADMIN_PASSWORD]

async function createLoginRole(user, password) {
  const { rows } = await query(...ADMIN, "SELECT format('CREATE ROLE %I WITH LOGIN PASSWORD %L', $1::text, $2::text) AS sql", [user, password])
  await query(...ADMIN, rows[0].sql)
}

function secretValue(username, password, extra = {}) {
  return JSON.stringify({ engine: 'postgres', host: DB.host, port: DB.port, dbname: DB.database, username, password, ...extra })
}

/** RotateSecret as the service starts it; moto registers the token as AWSPENDING, then fails to invoke the function. */
async function startRotation(arn) {
  const token = randomUUID()
  await assert.rejects(
    sm.send(new RotateSecretCommand({ SecretId: arn, ClientRequestToken: token, RotationLambdaARN: FUNCTION, RotationRules: { AutomaticallyAfterDays: 30 } })),
    'no such function: nothing invoked',
  )
  return token
}

/** What the service does after finishSecret: AWSPENDING comes off the new version. */
async function endRotation(arn, token) {
  await sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: token }))
}

test('the Node handler rotates a single user, each step retried', async () => {
  const user = `rot_node_${randomUUID().slice(0, 8)}`
  await createLoginRole(user, 'node-Passw0rd')
  const { ARN: arn } = await sm.send(new CreateSecretCommand({ Name: user, SecretString: secretValue(user, 'node-Passw0rd') }))
  const token = await startRotation(arn)
  for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
    await postgresql.singleUser({ SecretId: arn, ClientRequestToken: token, Step })
    await postgresql.singleUser({ SecretId: arn, ClientRequestToken: token, Step }) // the service retries
  }
  await endRotation(arn, token)
  const stages = (await sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages
  assert.deepEqual(stages[token], ['AWSCURRENT'])
  const now = await current(arn)
  assert.equal(now.username, user)
  assert.notEqual(now.password, 'node-Passw0rd')
  assert.ok(await logsIn(user, now.password))
  assert.ok(!(await logsIn(user, 'node-Passw0rd')))

  // A step of a token that is no version of the secret: a SecretkitError.
  const err = await postgresql.singleUser({ SecretId: arn, ClientRequestToken: randomUUID(), Step: 'setSecret' }).then(
    () => assert.fail('resolved'),
    (e) => e,
  )
  assert.ok(err instanceof SecretkitError, String(err))
  assert.equal(err.code, 'CONFIG')
})

// An Express-like app: a secretkit/pg pool (4 connections, each closed
// after 3 queries so logins go on all the time) reading its login from the
// secret through a client with a 1 s TTL, 4 workers querying without pause,
// while 3 rotations of each kind run. The pool moves to a new generation when
// the cache notices the new AWSCURRENT (a `changed` event), and a refused
// login refreshes the source and retries once (pg.js #withRetry).
for (const strategy of ['alternatingUsers', 'singleUser']) {
  test(`a secretkit/pg pool under load rides through 3 ${strategy} rotations`, async () => {
    const base = `rot_nload_${randomUUID().slice(0, 8)}`
    await createLoginRole(base, 'load-Passw0rd')
    const extra = {}
    if (strategy === 'alternatingUsers') {
      const master = secretValue(env.SK_PG_ADMIN_USER, env.SK_PG_ADMIN_PASSWORD)
      extra.masterarn = (await sm.send(new CreateSecretCommand({ Name: `${base}_master`, SecretString: master }))).ARN
    }
    const { ARN: arn } = await sm.send(
      new CreateSecretCommand({ Name: base, SecretString: secretValue(base, 'load-Passw0rd', extra) }),
    )
    const client = explicitClient({ defaultTtl: 1, ttlJitter: 0 })
    const pool = await createPool(client, {
      ...DB,
      max: 4,
      maxUses: 3,
      credentials: { username: `asm:${base}#username`, password: `asm:${base}#password` },
    })
    let logins = 0
    let queries = 0
    const failed = [] // [time, SQLSTATE] of queries that failed after the retry
    const changed = []
    const windows = [] // [setSecret started, finishSecret done]
    pool.on('connect', () => logins++)
    client.on('changed', (event) => changed.push(event.reference))
    let running = true
    const worker = async () => {
      while (running) {
        try {
          await pool.query('SELECT 1')
          queries++
        } catch (err) {
          failed.push([performance.now(), err.code])
        }
      }
    }
    const workers = Array.from({ length: 4 }, worker)
    try {
      for (let round = 0; round < 3; round++) {
        await sleep(1500) // past the 1 s TTL: every generation reads AWSCURRENT
        const token = await startRotation(arn)
        await postgresql[strategy]({ SecretId: arn, ClientRequestToken: token, Step: 'createSecret' })
        const began = performance.now()
        for (const Step of ['setSecret', 'testSecret', 'finishSecret']) {
          await postgresql[strategy]({ SecretId: arn, ClientRequestToken: token, Step })
        }
        windows.push([began, performance.now()])
        await endRotation(arn, token)
      }
      await sleep(1500)
    } finally {
      running = false
      await Promise.all(workers)
      await pool.end()
      await client.close()
    }
    const window = windows.map(([a, b]) => `${Math.round(b - a)} ms`).join(', ')
    // How long after each finishSecret the last refused query came.
    const tails = windows.map(([, end], i) => {
      const next = windows[i + 1]?.[0] ?? Infinity
      const last = Math.max(end, ...failed.map(([at]) => at).filter((at) => at >= end && at < next))
      return `${Math.round(last - end)} ms`
    })
    console.log(
      `${strategy}: ${queries} queries, ${logins} logins during 3 rotations, ${failed.length} failed ` +
        `after the retry (${[...new Set(failed.map(([, code]) => code))].join(', ') || 'none'}); ` +
        `set->finish windows ${window}; last failure after finishSecret: ${tails.join(', ')}; ` +
        `${changed.length} changed events`,
    )
    assert.ok(logins > 30, `only ${logins} logins`)
    assert.ok(changed.length >= 3, `the cache noticed ${changed.length} new AWSCURRENT versions of 3`)
    assert.equal(pool.username, (await current(arn)).username)
    if (strategy === 'alternatingUsers') {
      assert.deepEqual(failed, [])
    } else {
      // Only refused logins fail, and only from setSecret until the pool
      // has the new password: by the refused-login path's next read (1 s
      // after its first) or the watch's (the 1 s TTL, noticed within 1 s).
      for (const [at, code] of failed) {
        assert.ok(code === '28P01', `a failure other than a refused login: ${code}`)
        assert.ok(windows.some(([a, b]) => a <= at && at <= b + 2500), `refused at ${at}, windows ${windows}`)
      }
    }
  })
}
