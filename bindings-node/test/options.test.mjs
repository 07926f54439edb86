import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Client, SecretkitError } from 'secretkit'
import { SSM_PASSWORD, explicitClient } from './helpers.mjs'

const ALL = {
  defaultTtl: 60,
  ttlJitter: 0.2,
  refreshAhead: 0.5,
  maxStale: 600,
  negativeTtl: 5,
  retryBase: 0.5,
  retryMax: 30,
  maxEntries: 100,
  timeout: 3,
  revokeOnClose: false,
  revokeReplacedAfter: 5,
  allowHttp: false,
  allowLocal: true,
  readAttempts: 2,
}

test('every setting is accepted by fromEnv and the constructor', async () => {
  for (const client of [Client.fromEnv(ALL), explicitClient(ALL)]) {
    assert.equal((await client.get('ssm:/prod/myapp/db-password')).reveal(), SSM_PASSWORD)
  }
  // Boundaries: zero durations and the ends of the fraction range.
  Client.fromEnv({ defaultTtl: 0, maxStale: 0, ttlJitter: 0, refreshAhead: 1 })
})

test('bad settings are CONFIG errors naming the option', () => {
  const bad = [
    ['defaultTtl', -1],
    ['defaultTtl', Number.NaN],
    ['maxStale', Number.POSITIVE_INFINITY],
    ['negativeTtl', -0.5],
    ['retryBase', Number.NaN],
    ['retryMax', -3],
    ['timeout', -1],
    ['ttlJitter', -0.1],
    ['ttlJitter', Number.NaN],
    ['refreshAhead', 1.5],
    ['maxEntries', -1],
    ['maxEntries', 0],
    ['maxEntries', 2.5],
    ['readAttempts', 0],
    ['readAttempts', 11],
    ['readAttempts', 1.5],
  ]
  for (const [name, value] of bad) {
    for (const make of [() => Client.fromEnv({ [name]: value }), () => explicitClient({ [name]: value })]) {
      assert.throws(make, (err) => {
        assert.ok(err instanceof SecretkitError, `${name}=${value}: ${err}`)
        assert.equal(err.code, 'CONFIG')
        assert.ok(err.message.includes(name), err.message)
        return true
      })
    }
  }
})

test('unknown keys are TypeErrors naming the key, not silently ignored', () => {
  const cases = [
    () => Client.fromEnv({ defaultTTL: 60 }),
    () => explicitClient({ endpont: 'http://127.0.0.1:1' }),
    () => new Client({ aws: { region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 'b', endpont: 'x' } }),
    () => new Client({ vault: { address: 'http://127.0.0.1:8200', token: 't', namespce: 'x' } }),
  ]
  for (const make of cases) {
    assert.throws(make, (err) => {
      assert.ok(err instanceof TypeError, String(err))
      assert.match(err.message, /unknown (option|aws|vault) "(defaultTTL|endpont|namespce)"/)
      return true
    })
  }
})

test('allowLocal: false refuses env: and file: references', async () => {
  const client = Client.fromEnv({ allowLocal: false })
  for (const reference of ['env:HOME', 'file:/etc/hostname']) {
    await assert.rejects(client.get(reference), (err) => {
      assert.equal(err.code, 'ACCESS_DENIED')
      return true
    })
  }
  assert.equal((await Client.fromEnv({ allowLocal: true }).get('env:HOME')).reveal(), process.env.HOME)
})

test('plain http to a remote Vault is refused unless allowHttp', () => {
  const vault = { address: 'http://10.1.2.3:8200', token: 't' }
  assert.throws(() => new Client({ vault }), (err) => {
    assert.equal(err.code, 'CONFIG')
    assert.match(err.message, /allow_http/)
    return true
  })
  new Client({ vault, allowHttp: true })
})

test('tlsServerName reaches core, which wants a DNS name', () => {
  new Client({ vault: { address: 'https://10.0.0.1', token: 't', tlsServerName: 'vault.example.com' } })
  assert.throws(() => new Client({ vault: { address: 'https://10.0.0.1', token: 't', tlsServerName: '10.0.0.1' } }), (err) => {
    assert.equal(err.code, 'CONFIG')
    assert.match(err.message, /not a DNS name/)
    return true
  })
})

test('readAttempts bounds the backend calls of one failing read', async () => {
  for (const attempts of [1, 3]) {
    // Port 1 on loopback refuses connections: a transient failure, retried.
    // AWS, not Vault: a Vault token's own lookup would fail and count too.
    const aws = { region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 'b', endpoint: 'http://127.0.0.1:1' }
    const client = new Client({ aws, readAttempts: attempts })
    await assert.rejects(client.get('ssm:/down'), { code: 'UNAVAILABLE' })
    const stats = client.stats()
    assert.equal(stats.backendCalls.ssm, attempts)
    assert.equal(stats.errors, 1, 'one failed read, however many tries')
  }
})
