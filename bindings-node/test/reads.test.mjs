import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Client, Secret } from 'secretkit'
import { ASM_CREDENTIALS, SSM_PASSWORD, VAULT_CONFIG, explicitClient } from './helpers.mjs'

const client = Client.fromEnv()

test('SSM SecureString, whole and by version', async () => {
  const s = await client.get('ssm:/prod/myapp/db-password')
  assert.ok(s instanceof Secret)
  assert.equal(s.reveal(), SSM_PASSWORD)
  assert.deepEqual(s.revealBytes(), Buffer.from(SSM_PASSWORD))
  assert.equal(s.reference, 'ssm:/prod/myapp/db-password')
  assert.equal(s.version, '1')
  assert.equal(s.lease, null)
  assert.ok(s.fetchedAt instanceof Date)
  assert.ok(Math.abs(Date.now() - s.fetchedAt.getTime()) < 60_000)
  assert.equal((await client.get('ssm:/prod/myapp/db-password?version=1')).reveal(), SSM_PASSWORD)
  // A parameter with two versions, so a selector that was ignored would show.
  assert.equal((await client.get('ssm:/test/versioned?version=1')).reveal(), 'one')
  assert.equal((await client.get('ssm:/test/versioned?version=2')).reveal(), 'two')
  assert.equal((await client.get('ssm:/test/versioned')).reveal(), 'two')
})

test('Secrets Manager JSON secret, whole and #field', async () => {
  assert.equal((await client.get('asm:prod/myapp/db-credentials')).reveal(), ASM_CREDENTIALS)
  assert.equal((await client.get('asm:prod/myapp/db-credentials#username')).reveal(), 'app_user')
  const password = await client.get('asm:prod/myapp/db-credentials#password')
  assert.equal(password.reveal(), SSM_PASSWORD)
  assert.equal(typeof password.version, 'string')
})

test('Vault KV v2, whole and #field', async () => {
  const whole = await client.get('vault:secret/myapp/config')
  assert.deepEqual(JSON.parse(whole.reveal()), VAULT_CONFIG)
  assert.equal(whole.version, '1')
  for (const [field, value] of Object.entries(VAULT_CONFIG)) {
    assert.equal((await client.get(`vault:secret/myapp/config#${field}`)).reveal(), value)
  }
})

test('explicit configuration reads all three backends', async () => {
  const c = explicitClient({ defaultTtl: 30, maxEntries: 16, timeout: 5 })
  assert.equal((await c.get('ssm:/prod/myapp/db-password')).reveal(), SSM_PASSWORD)
  assert.equal((await c.get('asm:prod/myapp/db-credentials#username')).reveal(), 'app_user')
  assert.equal((await c.get('vault:secret/myapp/config#db_name')).reveal(), 'myapp_prod')
})

test('Client.fromEnv reads the environment when it is called', async () => {
  const saved = process.env.VAULT_ADDR
  process.env.VAULT_ADDR = 'http://127.0.0.1:1' // closed port
  try {
    const c = Client.fromEnv({ timeout: 2 })
    await assert.rejects(c.get('vault:secret/myapp/config'), { code: 'UNAVAILABLE' })
  } finally {
    process.env.VAULT_ADDR = saved
  }
  assert.equal((await Client.fromEnv().get('vault:secret/myapp/config#api_key')).reveal(), 'sk-abc123')
})

test('env: reference', async () => {
  process.env.SK_NODE_TEST_VALUE = 'from-the-environment'
  const s = await client.get('env:SK_NODE_TEST_VALUE')
  assert.equal(s.reveal(), 'from-the-environment')
  assert.equal(String(s), 'Secret(env:SK_NODE_TEST_VALUE, <redacted>)')
})

test('a client without AWS configured says so', async () => {
  const c = new Client({ vault: { address: process.env.VAULT_ADDR, token: process.env.VAULT_TOKEN } })
  await assert.rejects(c.get('ssm:/prod/myapp/db-password'), { code: 'CONFIG', kind: 'config' })
})

test('Secret has no public constructor', () => {
  assert.throws(() => new Secret(), TypeError)
})
