// A Secret never shows its value by accident: every formatting, logging and
// serialising path gives `Secret(<ref>, <redacted>)` or nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import util from 'node:util';

import { serverClient } from './support.mjs';

const REF = 'asm:prod/myapp/db-credentials#password';
const VALUE = 's3cureP@ssw0rd!';
const SHOWN = `Secret(${REF}, <redacted>)`;

test('every formatting path is redacted', async () => {
  const secret = await serverClient().get(REF);
  const paths = {
    String: String(secret),
    template: `${secret}`,
    plus: secret + '',
    toString: secret.toString(),
    toJSON: secret.toJSON(),
    JSON: JSON.stringify(secret),
    JSONnested: JSON.stringify({ db: { secret } }),
    inspect: util.inspect(secret),
    inspectNested: util.inspect({ db: [secret] }, { depth: 10 }),
    inspectHidden: util.inspect(secret, { showHidden: true, depth: Infinity }),
    inspectRaw: util.inspect(secret, { customInspect: false, showHidden: true }),
    format: util.format('%s %o %O %j', secret, secret, secret, secret),
    objectToString: Object.prototype.toString.call(secret),
    keys: JSON.stringify(Object.keys(secret)) + JSON.stringify(Object.getOwnPropertyNames(secret)),
    spread: JSON.stringify({ ...secret }),
    clone: util.inspect(structuredClone(secret)),
  };
  for (const [path, text] of Object.entries(paths)) {
    assert.ok(!text.includes(VALUE), `${path} shows the value: ${text}`);
  }
  for (const path of ['String', 'template', 'plus', 'toString', 'toJSON', 'inspect']) {
    assert.equal(paths[path], SHOWN, path);
  }
  assert.equal(paths.JSON, JSON.stringify(SHOWN));
  assert.ok(paths.inspectNested.includes(SHOWN), paths.inspectNested);
  assert.equal(secret.reveal(), VALUE);
});

test('console.log prints the redacted form', async (t) => {
  const secret = await serverClient().get(REF);
  const lines = [];
  t.mock.method(process.stdout, 'write', (chunk) => {
    lines.push(String(chunk));
    return true;
  });
  console.log(secret);
  console.log('password=%s', secret);
  console.log({ secret });
  t.mock.restoreAll();
  const out = lines.join('');
  assert.ok(!out.includes(VALUE), out);
  assert.ok(out.includes(SHOWN), out);
});

test('the client does not show its credentials', () => {
  const client = serverClient();
  const shown = util.inspect(client, { showHidden: true, depth: Infinity }) + JSON.stringify(client);
  assert.ok(!shown.includes(process.env.VAULT_TOKEN), shown);
  assert.ok(!shown.includes(process.env.AWS_SECRET_ACCESS_KEY + '"'), shown);
});
