import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SecretkitError, parseReference } from 'secretkit'
import { vectors } from './helpers.mjs'

test('vectors are present', () => {
  assert.ok(vectors.valid.length > 0 && vectors.invalid.length > 0 && vectors.redaction.cases.length > 0)
})

for (const { ref, parsed } of vectors.valid) {
  test(`parses ${ref}`, () => {
    assert.deepEqual(parseReference(ref), parsed)
  })
}

for (const { ref, kind, message_contains: contains } of vectors.invalid) {
  test(`rejects ${JSON.stringify(ref).slice(0, 80)}`, () => {
    assert.throws(
      () => parseReference(ref),
      (err) => {
        assert.ok(err instanceof SecretkitError)
        assert.equal(err.kind, kind)
        assert.equal(err.code, kind.toUpperCase())
        assert.ok(err.message.includes(contains), `${err.message} lacks ${contains}`)
        return true
      },
    )
  })
}
