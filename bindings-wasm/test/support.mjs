// Shared by the tests: the built package, the real servers' settings (from
// the env file tests/servers.py writes) and assertion helpers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

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

// boto3 from the repo's venv (scripts/install-deps.sh), configured by the
// same AWS_* variables; `args` arrives as the JSON in `args`.
const PYTHON = fileURLToPath(new URL('../../.venv/bin/python', import.meta.url));
const BOTO = `import boto3, json, sys
args = json.loads(sys.argv[1])
ssm = boto3.client("ssm")
asm = boto3.client("secretsmanager")
`;

/** Runs Python `code` with boto3 clients `ssm` and `asm` on the test servers. */
export function aws(code, args = {}) {
  serverConfig(); // fails, rather than reaching for real AWS, when not configured
  execFileSync(PYTHON, ['-c', BOTO + code, JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** A name prefix no other test (or earlier run against the same servers) uses. */
export function uniquePrefix(label) {
  return `wasm-${label}-${process.pid}-${Date.now().toString(36)}`;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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

// workerd's default outbound network allows public addresses only; the local
// servers need a network service that allows "local" (loopback). The worker
// is test/workerd/worker.mjs (or another `worker.mjs` copied next to the
// config), plus `modules` of its own, config.json and the built package.
export function workerdConfig(port, modules = []) {
  const esm = (name) => `(name = "${name}", esModule = embed "${name}")`;
  const pkg = ['workerd.mjs', 'api.mjs', 'secretkit_wasm.js'].map((m) => esm(`pkg/${m}`));
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  compatibilityDate = "2025-01-01",
  globalOutbound = "loopback",
  modules = [
    ${[esm('worker.mjs'), ...modules.map(esm), '(name = "config.json", json = embed "config.json")', ...pkg].join(',\n    ')},
    (name = "pkg/secretkit_wasm_bg.wasm", wasm = embed "pkg/secretkit_wasm_bg.wasm"),
  ],
);
`;
}
