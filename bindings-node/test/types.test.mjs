// The .d.ts files compile: `tsc --noEmit` (the typescript of devDependencies)
// on test/types, the project `npm run lint` checks (index.d.ts through a real
// use, test/types/usage.ts, whose @ts-expect-error lines must stay errors),
// and on the napi-generated native.d.ts, shipped in the package too.
// No servers needed.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'

const root = fileURLToPath(new URL('..', import.meta.url))
const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url))

function compile(project) {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '-p', project], { cwd: root }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code ?? 1) : 0, output: stdout + stderr }),
    )
  })
}

// Both at once: each run spends most of its ~10 s loading @types/node.
const projects = ['test/types', 'test/types/tsconfig.native.json']
const runs = Object.fromEntries(projects.map((p) => [p, compile(p)]))

for (const project of projects) {
  test(`tsc --noEmit -p ${project}`, { timeout: 180_000 }, async () => {
    const { code, output } = await runs[project]
    assert.equal(code, 0, `tsc -p ${project} failed:\n${output}`)
  })
}
