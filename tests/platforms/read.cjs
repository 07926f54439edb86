'use strict'
// Platform test, Node: the secretkit npm package and one per-platform
// package, unpacked into node_modules, used by a foreign Node (run by
// scripts/test-platforms.sh under qemu-aarch64).
//   node read.cjs EXPECTED.json PLATFORM_PACKAGE
// EXPECTED.json maps each reference to its seeded value. Prints one line per
// check: references, ok / FAIL and lengths, never a value.
const { readFileSync, openSync, readSync, closeSync } = require('node:fs')
const { inspect } = require('node:util')

const EM = { 62: 'x64', 183: 'arm64' } // ELF e_machine
let failures = 0
function check(name, ok, detail = '') {
  if (!ok) failures++
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ': ' + detail : ''}`)
}

async function main() {
  const [expectedFile, platformPackage] = process.argv.slice(2)
  const expected = JSON.parse(readFileSync(expectedFile, 'utf8'))
  const glibc = process.report.getReport().header.glibcVersionRuntime
  console.log(`  runtime: Node ${process.version} on ${process.platform}-${process.arch}, glibc ${glibc || 'none'}`)

  const { Client, SecretkitError } = require('secretkit')
  const addons = Object.keys(require.cache).filter((file) => file.endsWith('.node'))
  const fromPlatform = addons.filter((file) => file.includes(`/node_modules/${platformPackage}/`))
  let machine = 'none'
  if (fromPlatform.length === 1) {
    const header = Buffer.alloc(20)
    const fd = openSync(fromPlatform[0], 'r')
    readSync(fd, header, 0, 20, 0)
    closeSync(fd)
    machine = EM[header.readUInt16LE(18)] || 'other'
  }
  check(
    `the loader picked ${platformPackage}`,
    addons.length === 1 && fromPlatform.length === 1 && machine === process.arch,
    addons.map((f) => f.slice(f.lastIndexOf('node_modules/'))).join(', ') + ` (${machine})`,
  )
  const esm = await import('secretkit')
  check('the ESM entry gives the same Client', esm.Client === Client)

  const client = Client.fromEnv()
  try {
    for (const [reference, want] of Object.entries(expected)) {
      try {
        const secret = await client.get(reference)
        const value = secret.reveal()
        const shown = [inspect(secret), String(secret), JSON.stringify(secret)]
        const redacted = !shown.some((text) => text.includes(want))
        check(`get ${reference}`, value === want && redacted,
          `${value === want ? 'value matches' : 'MISMATCH'}, ${redacted ? 'redacted' : 'NOT REDACTED'}, ${value.length} chars`)
      } catch (err) {
        if (!(err instanceof SecretkitError)) throw err
        check(`get ${reference}`, false, `error ${err.code}`)
      }
    }
    await client.get(Object.keys(expected)[0])
    const { hits } = client.stats()
    check('a repeated get is a cache hit', hits >= 1, `hits=${hits}`)
    const missing = 'ssm:/prod/myapp/no-such-parameter'
    try {
      await client.get(missing)
      check('a missing parameter rejects with NOT_FOUND', false, 'no error')
    } catch (err) {
      check('a missing parameter rejects with NOT_FOUND', err instanceof SecretkitError && err.code === 'NOT_FOUND',
        `${err && err.name} code=${err && err.code}`)
    }
  } finally {
    await client.close()
  }
  process.exitCode = failures ? 1 : 0
}

main().catch((err) => {
  console.error(`  FAIL ${err && err.name}: ${err && err.code} ${err && err.message}`)
  process.exitCode = 1
})
