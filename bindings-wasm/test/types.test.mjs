// js/index.d.ts (shipped as the package's index.d.ts) compiles and describes
// a real use: `tsc --noEmit` (the typescript of devDependencies) on
// test/types (lib es2022 only, as a bare edge project) and on
// test/types/tsconfig.disposable.json (with `await using`). Each
// @ts-expect-error line in test/types must stay an error. The wasm-bindgen
// glue's .d.ts in pkg/, shipped too, compile (tsconfig.generated.json).
// No servers needed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));

const projects = ['test/types', 'test/types/tsconfig.disposable.json', 'test/types/tsconfig.generated.json'];

for (const project of projects) {
  test(`tsc --noEmit -p ${project}`, { timeout: 120_000 }, async () => {
    const { code, output } = await new Promise((resolve) => {
      execFile(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '-p', project], { cwd: root }, (error, stdout, stderr) =>
        resolve({ code: error ? (error.code ?? 1) : 0, output: stdout + stderr }),
      );
    });
    assert.equal(code, 0, `tsc -p ${project} failed:\n${output}`);
  });
}
