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
