import assert from 'node:assert/strict'
import { Console } from 'node:console'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { format, inspect } from 'node:util'
import { Client } from 'secretkit'
import { vectors } from './helpers.mjs'

const client = Client.fromEnv()

/** What console.log prints for `args`, captured. */
function logged(...args) {
  let out = ''
  const sink = new Writable({
    write(chunk, _enc, done) {
      out += chunk
      done()
    },
  })
  new Console({ stdout: sink, colorMode: false }).log(...args)
  return out
}

for (const { ref, value, shown_as: shownAs } of vectors.redaction.cases) {
  test(`redaction of ${ref} in every formatting path`, async () => {
    const s = await client.get(ref)
    assert.equal(s.reveal(), value)
    assert.equal(String(s), shownAs)
    assert.equal(`${s}`, shownAs)
    assert.equal(s.toString(), shownAs)
    assert.equal('' + s, shownAs)
    assert.equal(JSON.stringify(s), JSON.stringify(shownAs))
    assert.equal(JSON.stringify({ s }), JSON.stringify({ s: shownAs }))
    assert.equal(inspect(s), shownAs)
    assert.equal(inspect({ s }), `{ s: ${shownAs} }`)
    assert.equal(logged(s), `${shownAs}\n`)
    const everything = [
      logged({ nested: [s] }, s),
      format('%s %o %O %j %d', s, s, s, s, s),
      inspect(s, { showHidden: true, depth: Infinity, getters: true }),
      JSON.stringify(Object.entries(s)),
      Object.keys(s).join(),
    ].join('\n')
    assert.ok(!everything.includes(value), everything)
  })
}
