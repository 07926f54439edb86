// Smoke test on Cloudflare's runtime: `workerd serve` runs test/workerd/worker.mjs
// with the built package, and we fetch it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { closedPort, serverConfig, vectors } from './support.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const workerd = join(here, '..', 'node_modules', '.bin', 'workerd');
const PKG_MODULES = ['workerd.mjs', 'api.mjs', 'secretkit_wasm.js'];

// workerd's default outbound network allows public addresses only; the local
// servers need a network service that allows "local" (loopback).
function capnpConfig(port, config) {
  const esm = (name) => `(name = "${name}", esModule = embed "${name}")`;
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
    ${esm('worker.mjs')},
    ${PKG_MODULES.map((m) => esm(`pkg/${m}`)).join(',\n    ')},
    (name = "pkg/secretkit_wasm_bg.wasm", wasm = embed "pkg/secretkit_wasm_bg.wasm"),
  ],
  bindings = [(name = "CONFIG", json = ${JSON.stringify(JSON.stringify(config))})],
);
`;
}

async function fetchWhenUp(url, child, deadline) {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`workerd exited with ${child.exitCode}`);
    try {
      return await fetch(url);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

test('the package runs in workerd and reads the example secrets', async () => {
  assert.ok(existsSync(workerd), 'workerd missing: run `npm ci` in bindings-wasm');
  const config = serverConfig();
  const dir = mkdtempSync(join(tmpdir(), 'secretkit-workerd-'));
  const port = await closedPort();
  let log = '';
  let child;
  try {
    cpSync(join(here, 'workerd', 'worker.mjs'), join(dir, 'worker.mjs'));
    cpSync(join(here, '..', 'pkg'), join(dir, 'pkg'), { recursive: true });
    writeFileSync(join(dir, 'config.capnp'), capnpConfig(port, config));
    child = spawn(workerd, ['serve', join(dir, 'config.capnp')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));

    const response = await fetchWhenUp(`http://127.0.0.1:${port}/`, child, Date.now() + 30_000);
    const body = await response.text();
    assert.equal(response.status, 200, `${body}\n${log}`);
    const { secrets, error } = JSON.parse(body);
    for (const { ref, value, shown_as } of vectors.redaction.cases) {
      assert.deepEqual(secrets[ref], { shown: shown_as, json: JSON.stringify(shown_as), value }, ref);
    }
    assert.deepEqual(error, { isSecretkitError: true, code: 'NOT_FOUND', reference: 'ssm:/prod/myapp/missing' });
  } finally {
    child?.kill('SIGTERM');
    if (child && child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});
