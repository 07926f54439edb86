// Typed errors: SecretkitError with code, kind and reference, never a value,
// and no hang when a backend is down or silent.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';

import {
  Client,
  Secret,
  closedPort,
  fixturesSeeded,
  rejectsWith,
  serverClient,
  serverConfig,
  throwsWith,
  withServer,
} from './support.mjs';

const VALUES = ['s3cureP@ssw0rd!', 'app_user', 'sk-abc123', 'mydb.internal', 'not json'];

test('a missing secret is NOT_FOUND naming the reference, on every backend', async () => {
  const client = serverClient();
  for (const ref of ['ssm:/prod/myapp/missing', 'asm:prod/myapp/missing', 'vault:secret/myapp/missing']) {
    const error = await rejectsWith(client.get(ref), { code: 'NOT_FOUND', kind: 'not_found', reference: ref });
    assert.ok(error.message.includes(ref), error.message);
  }
});

test('an invalid reference rejects with INVALID_REFERENCE', async () => {
  const client = serverClient();
  await rejectsWith(client.get('nope'), { code: 'INVALID_REFERENCE', kind: 'invalid_reference', reference: 'nope' });
  await rejectsWith(client.get('ftp:/x'), { code: 'INVALID_REFERENCE', messageIncludes: 'unknown scheme' });
  await rejectsWith(client.get(42), { code: 'INVALID_REFERENCE' });
  throwsWith(() => client.invalidate('nope'), { code: 'INVALID_REFERENCE' });
});

test('#field on a non-JSON secret is a typed error without the value', async () => {
  fixturesSeeded();
  const client = serverClient();
  await rejectsWith(client.get('asm:test/plain-text#x'), {
    code: 'INVALID_RESPONSE',
    reference: 'asm:test/plain-text#x',
    notIncludes: VALUES,
  });
  await rejectsWith(client.get('ssm:/prod/myapp/db-password#x'), {
    code: 'INVALID_RESPONSE',
    reference: 'ssm:/prod/myapp/db-password#x',
    notIncludes: VALUES,
  });
});

test('a missing #field is NOT_FOUND without the value', async () => {
  const client = serverClient();
  for (const ref of ['asm:prod/myapp/db-credentials#nope', 'vault:secret/myapp/config#nope']) {
    await rejectsWith(client.get(ref), { code: 'NOT_FOUND', reference: ref, notIncludes: VALUES });
  }
});

test('Vault unreachable: UNAVAILABLE, quickly', async () => {
  const port = await closedPort();
  const client = new Client({ vault: { address: `http://127.0.0.1:${port}`, token: 'x' }, timeout: 5 });
  const started = Date.now();
  await rejectsWith(client.get('vault:secret/myapp/config'), {
    code: 'UNAVAILABLE',
    kind: 'unavailable',
    reference: 'vault:secret/myapp/config',
  });
  assert.ok(Date.now() - started < 4000, 'no waiting for the timeout');
});

test('readAttempts bounds the backend calls of one failing read', async () => {
  const port = await closedPort();
  for (const attempts of [1, 3]) {
    // AWS, not Vault: a Vault token's own lookup would fail and count too.
    const aws = { region: 'us-east-1', accessKeyId: 'a', secretAccessKey: 'b', endpoint: `http://127.0.0.1:${port}` };
    const client = new Client({ aws, readAttempts: attempts, timeout: 5 });
    await rejectsWith(client.get('ssm:/down'), { code: 'UNAVAILABLE' });
    const stats = client.stats();
    assert.equal(stats.backendCalls.ssm, attempts);
    assert.equal(stats.errors, 1, 'one failed read, however many tries');
  }
});

test('AWS unreachable: UNAVAILABLE', async () => {
  const port = await closedPort();
  const { aws } = serverConfig();
  const client = new Client({ aws: { ...aws, endpoint: `http://127.0.0.1:${port}` }, timeout: 5 });
  await rejectsWith(client.get('ssm:/prod/myapp/db-password'), {
    code: 'UNAVAILABLE',
    reference: 'ssm:/prod/myapp/db-password',
  });
});

test('a server that never answers: TIMEOUT after the configured timeout', async () => {
  await withServer(
    () => net.createServer(() => {}),
    async (address) => {
      const client = new Client({ vault: { address, token: 'x' }, timeout: 0.5 });
      const started = Date.now();
      await rejectsWith(client.get('vault:secret/myapp/config'), { code: 'TIMEOUT', kind: 'timeout' });
      const took = Date.now() - started;
      assert.ok(took >= 400 && took < 3000, `took ${took} ms`);
    },
  );
});

test('a response body over the limit is refused, with or without Content-Length', async () => {
  const big = Buffer.alloc(5 * 1024 * 1024, 'a');
  for (const chunked of [false, true]) {
    await withServer(
      () =>
        http.createServer((req, res) => {
          if (chunked) {
            res.writeHead(200, { 'content-type': 'application/json' });
            for (let i = 0; i < 5; i++) res.write(big.subarray(i * 1048576, (i + 1) * 1048576));
            res.end();
          } else {
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': big.length });
            res.end(big);
          }
        }),
      async (address) => {
        const client = new Client({ vault: { address, token: 'x' }, timeout: 5 });
        await rejectsWith(client.get('vault:secret/huge'), {
          code: 'INVALID_RESPONSE',
          messageIncludes: 'larger than',
        });
      },
    );
  }
});

test('a backend that is not configured is a CONFIG error', async () => {
  const client = new Client({});
  await rejectsWith(client.get('ssm:/prod/myapp/db-password'), { code: 'CONFIG', kind: 'config' });
  await rejectsWith(new Client().get('vault:secret/myapp/config'), { code: 'CONFIG' });
  // The edge has no environment and no file system.
  await rejectsWith(client.get('env:HOME'), { code: 'CONFIG' });
  await rejectsWith(client.get('file:/etc/hostname'), { code: 'CONFIG' });
});

test('a bad config throws CONFIG at construction, without echoing strings', async () => {
  const { aws, vault } = serverConfig();
  const bad = [
    { defaultTTL: 5 },
    { timeout: 0 },
    { timeout: -1 },
    { defaultTtl: Number.NaN },
    { maxEntries: 1.5 },
    { ttlJitter: -0.1 },
    { ttlJitter: 1.5 },
    { refreshAhead: Number.NaN },
    { refreshAhead: 75 },
    { maxStale: -1 },
    { negativeTtl: Number.NaN },
    { retryBase: -1 },
    { retryMax: Infinity },
    { refreshahead: 0.5 },
    { aws: { region: 'us-east-1' } },
    { vault: { address: vault.address, token: '' } },
    { vault: { address: 'vault.internal:8200', token: 'x' } },
    { vault: 'hunter2-token' },
    { aws: { ...aws, extra: 1 } },
    { readAttempts: 0 },
    { readAttempts: 11 },
    { readAttempts: 2.5 },
  ];
  for (const config of bad) {
    throwsWith(() => new Client(config), { code: 'CONFIG', kind: 'config', notIncludes: ['hunter2'] });
    await rejectsWith(Client.create(config), { code: 'CONFIG' });
  }
});

test('a Secret cannot be forged with new Secret()', () => {
  assert.throws(() => new Secret(), TypeError);
});
