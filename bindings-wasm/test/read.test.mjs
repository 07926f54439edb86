// Reading the example secrets and fixtures from the real moto and OpenBao.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Client, Secret, fixturesSeeded, serverClient, serverConfig, throwsWith } from './support.mjs';

const DB_PASSWORD = 's3cureP@ssw0rd!';
const DB_CREDENTIALS = { username: 'app_user', password: DB_PASSWORD };
const APP_CONFIG = { db_host: 'mydb.internal', db_name: 'myapp_prod', api_key: 'sk-abc123' };

test('SSM SecureString, decrypted, with its version and read time', async () => {
  const before = Date.now();
  const secret = await serverClient().get('ssm:/prod/myapp/db-password');
  assert.ok(secret instanceof Secret);
  assert.equal(secret.reveal(), DB_PASSWORD);
  assert.equal(secret.reference, 'ssm:/prod/myapp/db-password');
  assert.equal(secret.version, '1');
  assert.ok(secret.fetchedAt instanceof Date);
  assert.ok(secret.fetchedAt.getTime() >= before - 1000 && secret.fetchedAt.getTime() <= Date.now() + 1000);
  assert.equal(secret.lease, null);
});

test('Secrets Manager, whole and #field', async () => {
  const client = serverClient();
  const whole = await client.get('asm:prod/myapp/db-credentials');
  assert.deepEqual(JSON.parse(whole.reveal()), DB_CREDENTIALS);
  assert.equal(typeof whole.version, 'string');
  assert.equal((await client.get('asm:prod/myapp/db-credentials#password')).reveal(), DB_PASSWORD);
  assert.equal((await client.get('asm:prod/myapp/db-credentials#username')).reveal(), 'app_user');
});

test('Vault KV v2, whole and #field', async () => {
  const client = serverClient();
  const whole = await client.get('vault:secret/myapp/config');
  assert.deepEqual(JSON.parse(whole.reveal()), APP_CONFIG);
  assert.equal(whole.version, '1');
  for (const [field, value] of Object.entries(APP_CONFIG)) {
    assert.equal((await client.get(`vault:secret/myapp/config#${field}`)).reveal(), value);
  }
});

test('revealBytes gives the UTF-8 bytes as a fresh Uint8Array', async () => {
  const secret = await serverClient().get('ssm:/prod/myapp/db-password');
  const bytes = secret.revealBytes();
  assert.ok(bytes instanceof Uint8Array);
  assert.deepEqual(bytes, new TextEncoder().encode(DB_PASSWORD));
  bytes.fill(0);
  assert.equal(secret.reveal(), DB_PASSWORD, 'a copy: clearing it leaves the secret intact');
});

test('a binary secret reveals as bytes only', async () => {
  fixturesSeeded();
  const secret = await serverClient().get('asm:test/binary');
  assert.deepEqual(secret.revealBytes(), new Uint8Array([0xff, 0, 1, ...new TextEncoder().encode('binary')]));
  throwsWith(() => secret.reveal(), { code: 'INVALID_RESPONSE', reference: 'asm:test/binary' });
});

test('versions, labels and stages select the right value', async () => {
  fixturesSeeded();
  const client = serverClient();
  const read = async (ref) => (await client.get(ref)).reveal();
  assert.equal(await read('ssm:/test/versioned'), 'two');
  assert.equal(await read('ssm:/test/versioned:1'), 'one');
  assert.equal(await read('ssm:/test/versioned:blue'), 'one');
  assert.equal(await read('ssm:/test/versioned?version=1'), 'one');
  assert.equal(await read('asm:test/staged#v'), '2');
  assert.equal(await read('asm:test/staged?stage=AWSPREVIOUS#v'), '1');
  assert.equal(await read(`asm:test/staged?version=${process.env.SK_TEST_ASM_STAGED_V1}#v`), '1');
  assert.equal(await read('vault:secret/test/versioned#n'), '2');
  assert.equal(await read('vault:secret/test/versioned?version=1#n'), '1');
});

test('Vault KV v1 read: no lease without a lease id', async () => {
  fixturesSeeded();
  const secret = await serverClient().get('vault:kv1/app#token');
  assert.equal(secret.reveal(), 'v1-token');
  // KV v1 answers carry a lease_duration (a refresh hint) but no lease id.
  assert.equal(secret.lease, null);
});

test('a second read is served from the cache; invalidate and clear drop it', async () => {
  const client = serverClient();
  const ref = 'vault:secret/myapp/config#db_host';
  const first = await client.get(ref);
  await new Promise((resolve) => setTimeout(resolve, 5));
  const second = await client.get(ref);
  assert.equal(second.fetchedAt.getTime(), first.fetchedAt.getTime(), 'same backend read');
  // Another #field of the same secret shares the entry.
  const sibling = await client.get('vault:secret/myapp/config#api_key');
  assert.equal(sibling.fetchedAt.getTime(), first.fetchedAt.getTime());

  client.invalidate(ref);
  const third = await client.get(ref);
  assert.ok(third.fetchedAt.getTime() > first.fetchedAt.getTime(), 'read again after invalidate');
  await new Promise((resolve) => setTimeout(resolve, 5));
  client.clear();
  const fourth = await client.get(ref);
  assert.ok(fourth.fetchedAt.getTime() > third.fetchedAt.getTime(), 'read again after clear');
  assert.equal(fourth.reveal(), 'mydb.internal');
});

test('?ttl=0s is never cached', async () => {
  const client = serverClient();
  const first = await client.get('ssm:/prod/myapp/db-password?ttl=0s');
  await new Promise((resolve) => setTimeout(resolve, 5));
  const second = await client.get('ssm:/prod/myapp/db-password?ttl=0s');
  assert.ok(second.fetchedAt.getTime() > first.fetchedAt.getTime());
});

test('concurrent first reads share one backend read', async () => {
  const client = serverClient();
  const secrets = await Promise.all(
    Array.from({ length: 32 }, () => client.get('asm:prod/myapp/db-credentials#password')),
  );
  assert.ok(secrets.every((s) => s.reveal() === DB_PASSWORD));
  // Counted, not inferred from equal timestamps.
  const stats = client.stats();
  assert.equal(stats.backendCalls.asm, 1);
  assert.equal(stats.misses + stats.hits, 32);
});

test('Client.create resolves to a ready client; new Client works without awaiting', async () => {
  const created = await Client.create(serverConfig());
  assert.ok(created instanceof Client);
  assert.equal((await created.get('ssm:/prod/myapp/db-password')).reveal(), DB_PASSWORD);
  const constructed = new Client(serverConfig());
  assert.equal((await constructed.get('vault:secret/myapp/config#db_name')).reveal(), 'myapp_prod');
});

test('defaultTtl is in seconds: an entry expires after it', async () => {
  const client = serverClient({ defaultTtl: 0.2, maxEntries: 2, timeout: 2.5 });
  const first = await client.get('ssm:/prod/myapp/db-password');
  assert.equal((await client.get('ssm:/prod/myapp/db-password')).fetchedAt.getTime(), first.fetchedAt.getTime());
  await new Promise((resolve) => setTimeout(resolve, 300));
  const later = await client.get('ssm:/prod/myapp/db-password');
  assert.ok(later.fetchedAt.getTime() >= first.fetchedAt.getTime() + 200);
  assert.equal(later.reveal(), DB_PASSWORD);
});
