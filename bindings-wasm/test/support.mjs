// Shared by the tests: the built package, the real servers' settings (from
// the env file tests/servers.py writes) and assertion helpers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';

export * from '../pkg/index.mjs';
import { Client, SecretkitError } from '../pkg/index.mjs';

export const vectors = JSON.parse(
  readFileSync(new URL('../../tests/vectors/refs.json', import.meta.url), 'utf8'),
);

const REQUIRED = [
  'AWS_ENDPOINT_URL',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_REGION',
  'VAULT_ADDR',
  'VAULT_TOKEN',
];

/** Explicit config for the real servers; throws (the test fails) when they are not configured. */
export function serverConfig() {
  const missing = REQUIRED.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} not set: start the servers with tests/servers.py and source its env file`,
    );
  }
  const env = process.env;
  return {
    aws: {
      region: env.AWS_REGION,
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      endpoint: env.AWS_ENDPOINT_URL,
    },
    vault: { address: env.VAULT_ADDR, token: env.VAULT_TOKEN },
  };
}

export function serverClient(extra = {}) {
  return new Client({ ...serverConfig(), ...extra });
}

export function fixturesSeeded() {
  assert.equal(process.env.SK_FIXTURES, '1', 'start the servers with --fixtures');
}

/** Asserts `promise` rejects with a SecretkitError having these fields; returns it. */
export async function rejectsWith(promise, expected) {
  let error;
  await assert.rejects(promise, (e) => {
    error = e;
    return true;
  });
  assertSecretkitError(error, expected);
  return error;
}

export function throwsWith(fn, expected) {
  let error;
  assert.throws(fn, (e) => {
    error = e;
    return true;
  });
  assertSecretkitError(error, expected);
  return error;
}

function assertSecretkitError(error, { code, kind, reference, messageIncludes, notIncludes = [] }) {
  assert.ok(error instanceof SecretkitError, `expected SecretkitError, got ${error}`);
  assert.ok(error instanceof Error);
  assert.equal(error.name, 'SecretkitError');
  if (code !== undefined) assert.equal(error.code, code, error.message);
  if (kind !== undefined) assert.equal(error.kind, kind, error.message);
  if (reference !== undefined) assert.equal(error.reference, reference, error.message);
  if (messageIncludes !== undefined) assert.ok(error.message.includes(messageIncludes), error.message);
  for (const text of notIncludes) {
    for (const shown of [error.message, String(error), error.stack, JSON.stringify(error)]) {
      assert.ok(!shown.includes(text), `error shows ${text}: ${shown}`);
    }
  }
}

/** A loopback port nothing listens on. */
export async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A loopback server run by `handler` for the duration of `fn(address)`. */
export async function withServer(createServer, fn) {
  const server = createServer();
  const sockets = new Set();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await fn(`http://127.0.0.1:${server.address().port}`);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}
