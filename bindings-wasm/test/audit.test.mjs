// The access audit trail and metrics of the WASM build, against the real
// moto and OpenBao: every access of a scripted run reaches `onRecords` (taken
// in backgroundWork() once the interval passed, and at close()), attributed
// to the identity passed with the read, never with a value.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { rejectsWith, serverClient } from './support.mjs';

const SSM = 'ssm:/prod/myapp/db-password';
const KV = 'vault:secret/myapp/config#api_key';
const MISSING = 'ssm:/prod/myapp/not-there';
const VALUES = ['s3cureP@ssw0rd!', 'sk-abc123'];

function tally(records) {
  const out = {};
  for (const r of records) {
    const key = `${r.reference} ${r.outcome} ${r.identity?.user ?? '-'}`;
    out[key] = (out[key] ?? 0) + r.count;
  }
  return out;
}

test('every access is recorded with the identity passed, and never a value', async () => {
  const got = [];
  const client = serverClient({ audit: { interval: 0, onRecords: (r) => got.push(...r) } });
  const alice = { identity: { user: 'alice', requestId: 'r-1' } };
  for (let i = 0; i < 4; i++) {
    await client.get(SSM, alice);
  }
  await rejectsWith(client.get(MISSING, alice), { code: 'NOT_FOUND' });
  await client.backgroundWork(); // what a worker hands to ctx.waitUntil
  assert.deepEqual(tally(got), { [`${SSM} miss alice`]: 1, [`${SSM} hit alice`]: 3, [`${MISSING} error alice`]: 1 });

  await client.get(KV);
  await client.getMany([SSM, KV], { identity: { user: 'bob' } });
  await client.refresh(SSM, { identity: { user: 'bob' } });
  await client.close();
  assert.deepEqual(tally(got), {
    [`${SSM} miss alice`]: 1,
    [`${SSM} hit alice`]: 3,
    [`${MISSING} error alice`]: 1,
    [`${KV} miss -`]: 1,
    [`${SSM} hit bob`]: 1,
    [`${KV} hit bob`]: 1,
    [`${SSM} refresh bob`]: 1,
  });
  const first = got[0];
  assert.deepEqual(first.identity, { requestId: 'r-1', user: 'alice' });
  assert.ok(Number.isFinite(first.time) && first.first <= first.last);
  assert.equal(got.find((r) => r.reference === MISSING).error, 'not_found');
  const text = JSON.stringify(got);
  assert.ok(VALUES.every((v) => !text.includes(v)));
});

test('without audit nothing is recorded, and metricsText counts memo hits', async () => {
  const client = serverClient();
  for (let i = 0; i < 5; i++) {
    await client.get(SSM);
  }
  const text = client.metricsText();
  assert.match(text, /secretkit_reads_total\{backend="ssm",outcome="hit"\} 4\n/);
  assert.match(text, /secretkit_reads_total\{backend="ssm",outcome="miss"\} 1\n/);
  assert.ok(!text.includes(VALUES[0]));
  client.flushAudit(); // a no-op, not an error
  await client.close();
});

test('audit config is checked', () => {
  assert.throws(() => serverClient({ audit: { file: '/tmp/x' } }), /audit\.file/);
  assert.throws(() => serverClient({ audit: { onRecords: 1 } }), /onRecords must be a function/);
});
