// tests/vectors/refs.json through this binding: every parse vector via
// parseReference, every redaction case via a real read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import util from 'node:util';

import { parseReference, serverClient, throwsWith, vectors } from './support.mjs';

test('every valid vector parses to its JSON form', () => {
  assert.ok(vectors.valid.length > 0);
  for (const { ref, parsed } of vectors.valid) {
    assert.deepEqual(parseReference(ref), parsed, ref);
  }
});

test('every invalid vector fails with invalid_reference and its message', () => {
  assert.ok(vectors.invalid.length > 0);
  for (const { ref, kind, message_contains } of vectors.invalid) {
    assert.equal(kind, 'invalid_reference');
    throwsWith(() => parseReference(ref), {
      code: 'INVALID_REFERENCE',
      kind,
      messageIncludes: message_contains,
    });
  }
});

test('a reference that is not a string is an invalid reference', () => {
  for (const bad of [undefined, null, 42, {}, ['ssm:/a']]) {
    throwsWith(() => parseReference(bad), { code: 'INVALID_REFERENCE', kind: 'invalid_reference' });
  }
});

test('redaction cases: shown as the vector says, in every path, value only via reveal()', async () => {
  const client = serverClient();
  assert.ok(vectors.redaction.cases.length > 0);
  for (const { ref, value, shown_as } of vectors.redaction.cases) {
    const secret = await client.get(ref);
    const shown = {
      String: String(secret),
      template: `${secret}`,
      toString: secret.toString(),
      concat: '' + secret,
      inspect: util.inspect(secret),
      format: util.format('%s', secret),
      toJSON: secret.toJSON(),
    };
    for (const [path, text] of Object.entries(shown)) {
      assert.equal(text, shown_as, `${ref} via ${path}`);
    }
    assert.equal(JSON.stringify(secret), JSON.stringify(shown_as));
    assert.ok(!JSON.stringify({ secret }).includes(value));
    assert.equal(secret.reveal(), value);
  }
});
