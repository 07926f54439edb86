// Leak canary (RELIABILITY.md, "Leak canary") for the WASM package, in all
// three runtimes it is tested on: Node (here), Deno and workerd. Each runs
// test/canary/probe.mjs, which reads the canary tests/servers.py planted
// through ssm, asm, asm-json and vault (env: and file: must fail on the edge),
// compares it with reveal() and renders secrets, errors, events, stats and
// the client every way the runtime offers, logging them to its console. Here
// every rendering and everything the runtime printed is checked for the
// canary (or any 12 characters of its random part) and written to
// $SK_CANARY_OUT/wasm-<runtime>.log, which scripts/test.sh scans with the
// whole run's output; each runtime's proof line is what the scan requires.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { Console } from 'node:console';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import util from 'node:util';

import { probe } from './canary/probe.mjs';
import * as lib from './support.mjs';

const SCHEMES = ['ssm', 'asm', 'asm-json', 'vault', 'env', 'file'];
const WINDOW = 12; // as scripts/leak_scan.py: any 12 characters of the random part count
const here = fileURLToPath(new URL('.', import.meta.url));
const bin = (name) => join(here, '..', 'node_modules', '.bin', name);

const envName = (scheme) => `SK_CANARY_${scheme.toUpperCase().replace('-', '_')}`;
const missing = ['SK_CANARY', ...SCHEMES.map(envName)].filter((name) => !process.env[name]);
if (missing.length) throw new Error(`${missing.join(', ')} unset: start the servers with tests/servers.py --fixtures`);
const CANARY = process.env.SK_CANARY;
const REFS = Object.fromEntries(SCHEMES.map((s) => [s, process.env[envName(s)]]));

/** leaks(text): holds any WINDOW characters of the canary's random part, in any case; mask(text): those starred out. */
function detector(canary) {
  const tail = canary.split('-').slice(1).join('-');
  const windows = Array.from({ length: tail.length - WINDOW + 1 }, (_, i) => tail.slice(i, i + WINDOW).toLowerCase());
  return {
    leaks: (text) => windows.some((w) => text.toLowerCase().includes(w)),
    mask: (text) => {
      const hide = new Uint8Array(text.length);
      for (const w of windows) {
        // hex only: safe in a RegExp; 'i': an upper-cased copy is masked too
        for (const m of text.matchAll(new RegExp(w, 'gi'))) hide.fill(1, m.index, m.index + WINDOW);
      }
      return Array.from(text, (c, i) => (hide[i] ? '*' : c)).join('');
    },
  };
}
const { leaks, mask } = detector(CANARY);
const OUT_DIR = process.env.SK_CANARY_OUT || mkdtempSync(join(tmpdir(), 'secretkit-canary-'));
mkdirSync(OUT_DIR, { recursive: true });

/** Checks a probe result and the runtime's own output; logs both; prints the proof line. */
function verify(runtime, result, printed) {
  const log = join(OUT_DIR, `wasm-${runtime}.log`);
  for (const [label, text] of result.outputs) {
    appendFileSync(log, `[${label}] ${text}\n`);
    assert.ok(!leaks(text), `LEAK: ${runtime} ${label} shows the canary: ${mask(text).slice(0, 500)}`);
  }
  appendFileSync(log, `[${runtime} console]\n${printed}\n`);
  assert.ok(!leaks(printed), `LEAK: ${runtime}'s console shows the canary: ${mask(printed).slice(0, 2000)}`);
  assert.deepEqual(result.problems, [], `${runtime}: the probe found problems`);
  assert.deepEqual(result.schemes, ['ssm', 'asm', 'asm-json', 'vault']);
  assert.ok(printed.includes('Secret(ssm:/test/canary, <redacted>)'), `${runtime}: the console output is not there`);
  console.log(
    `leak canary: wasm-${runtime} read ${result.schemes.join(' ')}: ok (${result.bytes} bytes each), ` +
      `${result.outputs.length} outputs checked, 0 occurrences; log ${log}`,
  );
}

test('the check catches copies of a made-up canary and masks them', () => {
  const canary = 'canary-0123456789abcdef0123456789abcdef';
  const made = detector(canary);
  assert.ok(!made.leaks('Secret(ssm:/test/canary, <redacted>)'));
  for (const text of [`Secret(${canary})`, canary.toUpperCase(), `… ${canary.slice(12, 26)} (truncated)`]) {
    assert.ok(made.leaks(text), text);
    const shown = made.mask(text);
    assert.ok(!shown.toLowerCase().includes(canary.slice(-6)) && !shown.includes('123456'), shown);
  }
});

test('Node: the canary never leaks from the WASM package', async (t) => {
  // The probe's console.log/error go through a real Console (same formatting)
  // into `printed`. Not a mock of process.stdout: the test runner reports
  // through it, and a report swallowed during the await would be lost.
  let printed = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      printed += chunk;
      done();
    },
  });
  const captured = new Console({ stdout: sink, stderr: sink, colorMode: false });
  t.mock.method(console, 'log', (...args) => captured.log(...args));
  t.mock.method(console, 'error', (...args) => captured.error(...args));
  let result;
  try {
    result = await probe(lib, lib.serverConfig(), CANARY, REFS, util.inspect);
  } finally {
    t.mock.restoreAll();
  }
  verify('node', result, printed);
});

test('Deno: the canary never leaks from the WASM package', () => {
  const deno = bin('deno');
  assert.ok(existsSync(deno), 'deno missing: run `npm ci` in bindings-wasm');
  const run = spawnSync(
    deno,
    ['run', '--quiet', '--no-prompt', '--allow-net=127.0.0.1', '--allow-env', '--allow-read', join(here, 'canary', 'deno.mjs')],
    { env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' }, encoding: 'utf8', timeout: 60_000 },
  );
  const printed = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.status, 0, `deno exited with ${run.status}: ${mask(run.stderr).slice(-2000)}`);
  const lines = run.stdout.trim().split('\n');
  const result = JSON.parse(lines.at(-1));
  verify('deno', result, lines.slice(0, -1).join('\n') + run.stderr);
  assert.ok(!leaks(printed));
});


test('workerd: the canary never leaks from the WASM package', async () => {
  const workerd = bin('workerd');
  assert.ok(existsSync(workerd), 'workerd missing: run `npm ci` in bindings-wasm');
  const dir = mkdtempSync(join(tmpdir(), 'secretkit-canary-workerd-'));
  const port = await lib.closedPort();
  let printed = '';
  let child;
  try {
    cpSync(join(here, 'canary', 'worker.mjs'), join(dir, 'worker.mjs'));
    cpSync(join(here, 'canary', 'probe.mjs'), join(dir, 'probe.mjs'));
    cpSync(join(here, '..', 'pkg'), join(dir, 'pkg'), { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ config: lib.serverConfig(), canary: CANARY, refs: REFS }));
    writeFileSync(join(dir, 'config.capnp'), lib.workerdConfig(port, ['probe.mjs']));
    child = spawn(workerd, ['serve', '--verbose', join(dir, 'config.capnp')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (printed += d));
    child.stderr.on('data', (d) => (printed += d));
    let response;
    for (const deadline = Date.now() + 30_000; ; ) {
      if (child.exitCode !== null) assert.fail(`workerd exited with ${child.exitCode}: ${mask(printed)}`);
      try {
        response = await fetch(`http://127.0.0.1:${port}/`);
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await lib.sleep(100);
      }
    }
    const body = await response.text();
    assert.equal(response.status, 200, mask(body));
    await lib.sleep(200); // the worker's console output reaches us through a pipe
    verify('workerd', JSON.parse(body), printed);
  } finally {
    child?.kill('SIGTERM');
    if (child && child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});
