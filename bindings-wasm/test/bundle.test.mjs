// The package through a bundler (esbuild, pinned in package.json), as an app
// that imports it by name: the `browser` condition must bundle with no
// `node:` import and no `.wasm` import, and the bundle must run (under Deno,
// whose fetch reads the .wasm copied next to the bundle, as a browser would
// fetch it from the server); the `node` condition must bundle for Node and run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { serverConfig } from './support.mjs';

const pkg = fileURLToPath(new URL('../pkg', import.meta.url));
const app = fileURLToPath(new URL('./bundle/app.mjs', import.meta.url));
const deno = fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url));
const EXPECTED = ['s3cureP@ssw0rd!', 's3cureP@ssw0rd!', 'sk-abc123'];

// A project whose node_modules/secretkit-wasm is the built package, so the
// bundler resolves it through package.json's exports as from the registry.
function project() {
  const dir = mkdtempSync(join(tmpdir(), 'secretkit-bundle-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(pkg, join(dir, 'node_modules', 'secretkit-wasm'), 'dir');
  copyFileSync(app, join(dir, 'app.mjs'));
  return dir;
}

async function bundle(dir, platform) {
  const outfile = join(dir, 'dist', 'app.js');
  const result = await build({
    entryPoints: [join(dir, 'app.mjs')],
    bundle: true,
    format: 'esm',
    platform,
    target: 'es2022',
    outfile,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  return { outfile, inputs, code: readFileSync(outfile, 'utf8') };
}

function values(stdout) {
  return JSON.parse(stdout.trim().split('\n').at(-1)).values;
}

test('esbuild bundles the browser entry and the bundle reads the example secrets', async () => {
  serverConfig(); // the servers must be configured
  const dir = project();
  const { outfile, inputs, code } = await bundle(dir, 'browser');
  assert.ok(inputs.some((f) => f.endsWith('browser.mjs')), `browser entry not chosen: ${inputs}`);
  assert.doesNotMatch(code, /["']node:/, 'the browser bundle imports a node: module');
  // What a user does with esbuild: ship the .wasm next to the bundle.
  copyFileSync(join(pkg, 'secretkit_wasm_bg.wasm'), join(dir, 'dist', 'secretkit_wasm_bg.wasm'));
  const stdout = execFileSync(
    deno,
    ['run', '--quiet', '--no-prompt', '--allow-net=127.0.0.1', '--allow-env', `--allow-read=${dir}`, outfile],
    { env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' }, encoding: 'utf8', timeout: 60_000 },
  );
  assert.deepEqual(values(stdout), EXPECTED);
});

test('esbuild bundles the node entry and Node runs the bundle', async () => {
  serverConfig();
  const dir = project();
  const { outfile, inputs } = await bundle(dir, 'node');
  assert.ok(inputs.some((f) => f.endsWith('index.mjs')), `node entry not chosen: ${inputs}`);
  copyFileSync(join(pkg, 'secretkit_wasm_bg.wasm'), join(dir, 'dist', 'secretkit_wasm_bg.wasm'));
  const stdout = execFileSync(process.execPath, [outfile], { encoding: 'utf8', timeout: 60_000 });
  assert.deepEqual(values(stdout), EXPECTED);
});
