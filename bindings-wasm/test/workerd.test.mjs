// Cloudflare's runtime: `workerd serve` runs test/workerd/worker.mjs with the
// built package, and we fetch it: the example reads, then refresh ahead kept
// alive by ctx.waitUntil(client.backgroundWork()).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { closedPort, serverConfig, sleep, vectors, workerdConfig } from './support.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const workerd = join(here, '..', 'node_modules', '.bin', 'workerd');


async function fetchWhenUp(url, child, deadline, log) {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`workerd exited with ${child.exitCode}:\n${log()}`);
    try {
      return await fetch(url);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

// The keys the cache refreshes for the worker's three references.
const CACHE_KEYS = ['ssm:/prod/myapp/db-password', 'asm:prod/myapp/db-credentials', 'vault:secret/myapp/config'];

test('in workerd: a module-scope client reads the examples and refreshes ahead under waitUntil', async () => {
  assert.ok(existsSync(workerd), 'workerd missing: run `npm ci` in bindings-wasm');
  // defaultTtl 4 s, refresh from 2 s: the second round of reads, 2.1 s
  // later, is answered from the cache and starts three background refreshes.
  // (A 1 s TTL expired before the second round on a loaded machine: the
  // margin to expiry is now 1.9 s.)
  const config = { ...serverConfig(), defaultTtl: 4, refreshAhead: 0.5, ttlJitter: 0 };
  const dir = mkdtempSync(join(tmpdir(), 'secretkit-workerd-'));
  const port = await closedPort();
  let log = '';
  let child;
  try {
    cpSync(join(here, 'workerd', 'worker.mjs'), join(dir, 'worker.mjs'));
    cpSync(join(here, '..', 'pkg'), join(dir, 'pkg'), { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    writeFileSync(join(dir, 'config.capnp'), workerdConfig(port));
    child = spawn(workerd, ['serve', join(dir, 'config.capnp')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const url = `http://127.0.0.1:${port}`;
    const getJson = async (path, response) => {
      response ??= await fetch(`${url}${path}`);
      const body = await response.text();
      assert.equal(response.status, 200, `${body}\n${log}`);
      return JSON.parse(body);
    };

    const first = await getJson('/', await fetchWhenUp(`${url}/`, child, Date.now() + 30_000, () => log));
    for (const { ref, value, shown_as } of vectors.redaction.cases) {
      assert.deepEqual(first.secrets[ref], { shown: shown_as, json: JSON.stringify(shown_as), value }, ref);
    }
    assert.deepEqual(first.error, { isSecretkitError: true, code: 'NOT_FOUND', reference: 'ssm:/prod/myapp/missing' });

    await sleep(2100);
    const second = await getJson('/');
    assert.deepEqual(second.fetchedAt, first.fetchedAt, 'answered from the cache');

    // The refreshes finish after the second response, kept alive by waitUntil.
    const refreshed = (stats) => stats.events.filter((e) => e.kind === 'refreshed').map((e) => e.reference).sort();
    let seen = await getJson('/stats');
    for (const deadline = Date.now() + 10_000; refreshed(seen).length < 3 && Date.now() < deadline; ) {
      await sleep(50);
      seen = await getJson('/stats');
    }
    assert.deepEqual(refreshed(seen), [...CACHE_KEYS].sort(), `${JSON.stringify(seen)}\n${log}`);
    assert.equal(seen.stats.refreshes, 3);
    assert.deepEqual(seen.stats.backendCalls, { ssm: 3, asm: 2, vault: 2, env: 0, file: 0 });
  } finally {
    child?.kill('SIGTERM');
    if (child && child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('in workerd: the example worker answers every request across TTL expiries, none hangs', async () => {
  assert.ok(existsSync(workerd), 'workerd missing: run `npm ci` in bindings-wasm');
  const capnp = join(here, '..', '..', 'examples', 'worker', 'workerd.capnp');
  const port = await closedPort();
  let log = '';
  // The example's own config, its env bindings from this environment, with
  // a 1 s TTL: requests every 250 ms for 4 s cross several expiries (and
  // refresh-ahead points), where a cancelled background read once made
  // later reads hang.
  const child = spawn(workerd, ['serve', capnp, '--socket-addr', `http=127.0.0.1:${port}`], {
    env: { ...process.env, SECRETS_TTL_SECONDS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  try {
    const url = `http://127.0.0.1:${port}/secrets`;
    await fetchWhenUp(`http://127.0.0.1:${port}/health`, child, Date.now() + 30_000, () => log);
    const fetched = new Map();
    const started = Date.now();
    let requests = 0;
    while (Date.now() - started < 4000) {
      // A hang fails here after 5 s instead of stalling the suite.
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      const text = await response.text();
      assert.equal(response.status, 200, `${text}\n${log}`);
      const body = JSON.parse(text);
      for (const s of body.secrets) {
        if (!fetched.has(s.reference)) fetched.set(s.reference, new Set());
        fetched.get(s.reference).add(s.fetched_at);
      }
      requests += 1;
      await sleep(250);
    }
    // Each value was read again several times: the requests did cross expiries.
    for (const [reference, times] of fetched) assert.ok(times.size >= 3, `${reference}: ${[...times]}`);
    console.log(`example worker in workerd: ${requests} requests over 4 s with a 1 s TTL, none failed or hung; ` +
      `reads per reference: ${[...fetched.values()].map((t) => t.size).join(', ')}`);
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
  }
});
