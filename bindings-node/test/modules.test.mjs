import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import * as esm from 'secretkit'
import defaultExport from 'secretkit'
import './helpers.mjs'

const require = createRequire(import.meta.url)

test('CommonJS require and ESM import give the same API', () => {
  const cjs = require('secretkit')
  for (const name of ['Client', 'Secret', 'SecretkitError', 'parseReference']) {
    assert.equal(typeof cjs[name], 'function', name)
    assert.equal(esm[name], cjs[name], name)
    assert.equal(defaultExport[name], cjs[name], name)
  }
  assert.equal(require('../index.js'), cjs)
})

test('CommonJS works end to end in a CommonJS process', async () => {
  const { execFileSync } = require('node:child_process')
  const script =
    "const { Client } = require('secretkit');" +
    "Client.fromEnv().get('ssm:/prod/myapp/db-password').then((s) => console.log(String(s), s.reveal().length))"
  const out = execFileSync(process.execPath, ['-e', script], { cwd: new URL('..', import.meta.url), encoding: 'utf8' })
  assert.equal(out.trim(), 'Secret(ssm:/prod/myapp/db-password, <redacted>) 15')
})
