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
import { postgresql } from 'secretkit/rotation'
import { env } from './helpers.mjs'

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

test('the Node handler rotates a single user, each step retried', async () => {
  const user = `rot_node_${randomUUID().slice(0, 8)}`
  const admin = [env.SK_PG_ADMIN_USER, env.SK_PG_ADMIN_PASSWORD]
  const { rows } = await query(...admin, "SELECT format('CREATE ROLE %I WITH LOGIN PASSWORD %L', $1::text, $2::text) AS sql", [user, 'node-Passw0rd'])
  await query(...admin, rows[0].sql)
  const secret = { engine: 'postgres', ...DB, dbname: DB.database, username: user, password: 'node-Passw0rd' }
  delete secret.database
  const { ARN: arn } = await sm.send(new CreateSecretCommand({ Name: user, SecretString: JSON.stringify(secret) }))
  const token = randomUUID()
  await assert.rejects(
    sm.send(new RotateSecretCommand({
      SecretId: arn,
      ClientRequestToken: token,
      RotationLambdaARN: 'arn:aws:lambda:us-east-1:123456789012:function:secretkit-rotation-test',
      RotationRules: { AutomaticallyAfterDays: 30 },
    })),
    'no such function: nothing invoked',
  )
  for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
    await postgresql.singleUser({ SecretId: arn, ClientRequestToken: token, Step })
    await postgresql.singleUser({ SecretId: arn, ClientRequestToken: token, Step }) // the service retries
  }
  await sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: token }))
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
