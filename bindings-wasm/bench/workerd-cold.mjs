// Cold start of a worker in Cloudflare's workerd (npm `workerd`) with the
// WASM package, against the real moto server: a new workerd process per
// run, timed from spawn to the first response, for three workers:
//   floor      a worker without secretkit (workerd's own start)
//   load       secretkit's module loaded and a Client built, no read
//   first-get  the same, then the first request reads one SSM parameter
// plus the module's compile time in V8 (the engine workerd embeds),
// `WebAssembly.compile` in this Node process. Medians of interleaved runs.
// Not a test: it prints figures (BENCHMARKS.md, "WASM module size").
//
//   .venv/bin/python tests/servers.py start --env-file /tmp/sk-env --fixtures
//   set -a; . /tmp/sk-env; set +a; cd bindings-wasm && node bench/workerd-cold.mjs
//
// SK_WASM_PKG=<dir> measures another build of the package (an older
// commit's bindings-wasm/pkg) instead of ../pkg.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { closedPort, serverConfig, workerdConfig } from '../test/support.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const here = fileURLToPath(new URL('.', import.meta.url));
const workerd = join(here, '..', 'node_modules', '.bin', 'workerd');
const pkg = process.env.SK_WASM_PKG ?? join(here, '..', 'pkg');
const wasm = readFileSync(join(pkg, 'secretkit_wasm_bg.wasm'));

const WORKERS = {
  floor: `export default { async fetch() { return new Response('ok'); } };`,
  load: `import config from './config.json';
import { Client } from './pkg/workerd.mjs';
const client = new Client(config);
export default { async fetch() { return new Response(client ? 'ok' : 'no'); } };`,
  'first-get': `import config from './config.json';
import { Client } from './pkg/workerd.mjs';
const client = new Client(config);
export default {
  async fetch() {
    const secret = await client.get('ssm:/prod/myapp/db-password');
    return new Response(secret ? 'ok' : 'no');
  },
};`,
};

/** A workerd config serving `worker.mjs` alone (the floor: no package). */
function floorConfig(port) {
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  compatibilityDate = "2025-01-01",
  modules = [(name = "worker.mjs", esModule = embed "worker.mjs")],
);
`;
}

function prepare(name) {
  const dir = mkdtempSync(join(tmpdir(), `secretkit-workerd-cold-${name}-`));
  writeFileSync(join(dir, 'worker.mjs'), WORKERS[name]);
  if (name !== 'floor') {
    cpSync(pkg, join(dir, 'pkg'), { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(serverConfig()));
  }
  return dir;
}

/** Milliseconds from spawning workerd to the first 200 answer. */
async function coldStart(name, dir) {
  const port = await closedPort();
  writeFileSync(join(dir, 'config.capnp'), name === 'floor' ? floorConfig(port) : workerdConfig(port));
  const started = performance.now();
  const child = spawn(workerd, ['serve', join(dir, 'config.capnp')], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/`);
        const body = await response.text();
        if (response.status !== 200 || body !== 'ok') throw new Error(`${name}: ${response.status} ${body}`);
        return performance.now() - started;
      } catch (e) {
        if (e.message.startsWith(name) || child.exitCode !== null || performance.now() - started > 30_000) throw e;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
  } finally {
    child.kill();
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dirs = Object.fromEntries(Object.keys(WORKERS).map((name) => [name, prepare(name)]));
try {
  const times = Object.fromEntries(Object.keys(WORKERS).map((name) => [name, []]));
  for (let run = 0; run < RUNS; run++) {
    for (const name of Object.keys(WORKERS)) times[name].push(await coldStart(name, dirs[name]));
  }
  const compile = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    await WebAssembly.compile(wasm);
    compile.push(performance.now() - started);
  }
  console.log(`workerd cold start (npm workerd), package ${pkg}, ${RUNS} interleaved runs, median (min) ms from spawn to first response`);
  for (const [name, xs] of Object.entries(times)) {
    console.log(`${name.padEnd(10)} ${median(xs).toFixed(1).padStart(7)} ms (min ${Math.min(...xs).toFixed(1)})`);
  }
  const over = (a) => (median(times[a]) - median(times.floor)).toFixed(1);
  console.log(`above the floor: load +${over('load')} ms, first-get +${over('first-get')} ms`);
  console.log(
    `module: ${wasm.length.toLocaleString('en')} B; WebAssembly.compile in Node ${process.versions.node} (V8 ${process.versions.v8}): ` +
      `median ${median(compile).toFixed(1)} ms (min ${Math.min(...compile).toFixed(1)})`,
  );
} finally {
  for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
}
