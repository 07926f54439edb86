// `secretkit agent` answering Node's fetch the way AWS's Parameters and
// Secrets extension does (the request shape of AWS's Node.js examples).
// The binary comes from scripts/build-bindings.sh (SECRETKIT_BIN overrides);
// the servers from tests/servers.py's env file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createRequire } from 'node:module';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = process.env.SECRETKIT_BIN
  ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(repo, 'target'), 'bin', 'secretkit');
const token = randomBytes(16).toString('hex');
let agent;
let base;

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

before(async () => {
  for (const name of ['AWS_ENDPOINT_URL', 'VAULT_ADDR', 'VAULT_TOKEN']) {
    assert.ok(process.env[name], `${name} unset: source tests/servers.py's env file`);
  }
  assert.ok(existsSync(bin), `${bin} is missing: run scripts/build-bindings.sh`);
  const listen = `127.0.0.1:${await freePort()}`;
  base = `http://${listen}`;
  agent = spawn(bin, ['agent', '--listen', listen], {
    env: { ...process.env, SECRETKIT_AGENT_TOKEN: token },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/ping`)).ok) break;
    } catch { /* not listening yet */ }
    assert.ok(Date.now() < deadline && agent.exitCode === null, 'the agent did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

after(async () => {
  const exited = new Promise((resolve) => agent.once('exit', resolve));
  agent.kill('SIGTERM');
  assert.equal(await exited, 0);
});

const headers = { 'X-Aws-Parameters-Secrets-Token': token };

test('a secret in GetSecretValue shape, as the AWS examples fetch it', async () => {
  const url = `${base}/secretsmanager/get?secretId=${encodeURIComponent('prod/myapp/db-credentials')}`;
  const response = await fetch(url, { headers });
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(JSON.parse(body.SecretString).username, 'app_user');
  assert.deepEqual(body.VersionStages, ['AWSCURRENT']);
});

test('a parameter in GetParameter shape', async () => {
  const url = `${base}/systemsmanager/parameters/get?name=${encodeURIComponent('/test/versioned')}&version=1`;
  const body = await (await fetch(url, { headers })).json();
  assert.deepEqual(
    [body.Parameter.Name, body.Parameter.Value, body.Parameter.Version],
    ['/test/versioned', 'one', 1],
  );
});

test('a Vault secret through the native endpoint', async () => {
  const url = `${base}/v1/secret?ref=${encodeURIComponent('vault:secret/myapp/config#db_host')}`;
  const body = await (await fetch(url, { headers })).json();
  assert.equal(body.value, 'mydb.internal');
});

test('no token, a wrong token and a forwarded request are refused', async () => {
  const url = `${base}/secretsmanager/get?secretId=test/plain-text`;
  assert.equal((await fetch(url)).status, 401);
  assert.equal((await fetch(url, { headers: { 'X-Aws-Parameters-Secrets-Token': 'x' } })).status, 403);
  const forwarded = await fetch(url, { headers: { ...headers, 'X-Forwarded-For': '203.0.113.9' } });
  assert.equal(forwarded.status, 400);
  assert.equal((await forwarded.json()).error.kind, 'refused');
});

test('a Node client reads through the agent with SECRETKIT_AGENT', async () => {
  const { Client } = createRequire(import.meta.url)(path.join(repo, 'bindings-node'));
  const saved = { agent: process.env.SECRETKIT_AGENT, token: process.env.SECRETKIT_AGENT_TOKEN };
  process.env.SECRETKIT_AGENT = base;
  process.env.SECRETKIT_AGENT_TOKEN = token;
  const client = Client.fromEnv();
  try {
    const metrics = async () => (await fetch(`${base}/metrics`, { headers })).text();
    const calls = (text) => Number(/secretkit_reads_total\{backend="vault",outcome="miss"\} (\d+)/.exec(text)?.[1] ?? 0);
    // Another caller on the host has read the secret through the agent.
    const warm = await fetch(`${base}/v1/secret?ref=${encodeURIComponent('vault:secret/myapp/config')}`, { headers });
    assert.equal(warm.status, 200);
    const before = calls(await metrics());
    const secret = await client.get('vault:secret/myapp/config#db_name');
    assert.equal(secret.reveal(), 'myapp_prod');
    // Another field of the same secret: the client's cache, not the agent.
    assert.equal((await client.get('vault:secret/myapp/config#api_key')).reveal(), 'sk-abc123');
    assert.equal(client.stats().backendCalls.vault, 1);
    // The agent answered from its cache: no new Vault read.
    assert.equal(calls(await metrics()), before);
  } finally {
    await client.close();
    process.env.SECRETKIT_AGENT = saved.agent ?? '';
    process.env.SECRETKIT_AGENT_TOKEN = saved.token ?? '';
  }
});

test('the WASM client reads through the agent with its agent option', async () => {
  const { Client } = await import(path.join(repo, 'bindings-wasm', 'pkg', 'index.mjs'));
  const client = new Client({ agent: { address: base, token } });
  try {
    assert.equal((await client.get('vault:secret/myapp/config#db_host')).reveal(), 'mydb.internal');
    assert.equal((await client.get('ssm:/test/plain')).reveal(), 'hello');
    assert.equal(client.stats().backendCalls.ssm, 1);
    const refused = new Client({ agent: { address: base, token: 'wrong' } });
    await assert.rejects(refused.get('ssm:/test/plain'), (e) => e.code === 'AUTH' && e.reference === 'ssm:/test/plain');
    await refused.close();
  } finally {
    await client.close();
  }
});
