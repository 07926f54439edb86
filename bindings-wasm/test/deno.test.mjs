// The WASM package under a real Deno (npm `deno`, pinned in package.json):
// the three example secrets, redaction through Deno.inspect, a typed error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const deno = fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url));

test('Deno reads the three example secrets through the WASM package', () => {
  for (const name of ['AWS_ENDPOINT_URL', 'VAULT_ADDR', 'VAULT_TOKEN']) {
    assert.ok(process.env[name], `${name} is not set: run through scripts/test.sh`);
  }
  const stdout = execFileSync(
    deno,
    ['run', '--quiet', '--no-prompt', '--allow-net=127.0.0.1', '--allow-env', '--allow-read', `${here}deno/smoke.mjs`],
    { env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' }, encoding: 'utf8', timeout: 60_000 },
  );
  const out = JSON.parse(stdout.trim().split('\n').at(-1));
  assert.deepEqual(out.values, ['s3cureP@ssw0rd!', 's3cureP@ssw0rd!', 'sk-abc123']);
  for (const [i, shown] of out.shown.entries()) {
    for (const text of shown) {
      assert.ok(!text.includes(out.values[i]), `value shown: ${text}`);
      assert.match(text, /<redacted>/);
    }
  }
  assert.deepEqual(out.missing, { isSecretkitError: true, code: 'NOT_FOUND', reference: 'ssm:/prod/myapp/nope' });
});
