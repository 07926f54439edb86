// Cache-hit cost of the WASM package inside Cloudflare's workerd (npm
// `workerd`), next to awaiting a plain Map lookup in the same isolate, against
// the real moto server. workerd's clocks stand still while a request runs, so
// each figure is timed from outside: (time of a request doing N reads - time
// of one doing none) / N, best of the rounds. Not a test: it prints figures.
//
//   .venv/bin/python tests/servers.py start --env-file /tmp/sk-env --fixtures
//   set -a; . /tmp/sk-env; set +a; cd bindings-wasm && node bench/workerd-hit.mjs
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { closedPort, serverConfig, workerdConfig } from '../test/support.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const N = Number(process.env.BENCH_N ?? 1_000_000);
const here = fileURLToPath(new URL('.', import.meta.url));
const workerd = join(here, '..', 'node_modules', '.bin', 'workerd');
const dir = mkdtempSync(join(tmpdir(), 'secretkit-workerd-bench-'));
const port = await closedPort();
cpSync(join(here, 'workerd', 'worker.mjs'), join(dir, 'worker.mjs'));
cpSync(join(here, '..', 'pkg'), join(dir, 'pkg'), { recursive: true });
writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...serverConfig(), defaultTtl: 24 * 3600 }));
writeFileSync(join(dir, 'config.capnp'), workerdConfig(port));
const child = spawn(workerd, ['serve', join(dir, 'config.capnp')], { stdio: ['ignore', 'inherit', 'inherit'] });
const url = `http://127.0.0.1:${port}`;

async function request(path) {
  for (let tries = 0; ; tries++) {
    try {
      const response = await fetch(`${url}${path}`);
      const body = await response.text();
      if (response.status !== 200) throw new Error(`${path}: ${response.status} ${body}`);
      return body;
    } catch (e) {
      if (tries > 100 || child.exitCode !== null) throw e;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Milliseconds a request takes. */
async function timed(path) {
  const started = performance.now();
  await request(path);
  return performance.now() - started;
}

try {
  await request('/get?n=1'); // the one miss
  const best = { get: Infinity, map: Infinity };
  for (let round = 0; round < ROUNDS; round++) {
    const empty = await timed('/get?n=0');
    for (const what of ['get', 'map']) {
      const ms = (await timed(`/${what}?n=${N}`)) - empty;
      best[what] = Math.min(best[what], (ms * 1e6) / N);
    }
  }
  const stats = JSON.parse(await request('/stats'));
  console.log(`workerd (npm workerd); ${ROUNDS} rounds of ${N.toLocaleString('en')} reads per case, timed from outside; best round`);
  console.log(`secretkit-wasm  await client.get(ssm)   ${best.get.toFixed(1)} ns per hit`);
  console.log(`await Map.get                           ${best.map.toFixed(1)} ns  (${(best.map / best.get).toFixed(2)}x)`);
  console.log(`stats: hits=${stats.hits} misses=${stats.misses}`);
  if (stats.misses !== 1) throw new Error('secretkit missed while timed');
} finally {
  child.kill();
  rmSync(dir, { recursive: true, force: true });
}
