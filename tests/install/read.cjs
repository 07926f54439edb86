'use strict'
// Install test, Node CJS: require('secretkit'), read the three example
// secrets with Client.fromEnv() and compare with EXPECTED.json (reference ->
// value). Prints only the reference, ok / MISMATCH and the length.
//   node read.cjs EXPECTED.json PLATFORM_PACKAGE
const { readFileSync } = require('node:fs')
const { inspect } = require('node:util')
const { Client, SecretkitError } = require('secretkit')

async function main() {
  const [expectedFile, platformPackage] = process.argv.slice(2)
  const expected = JSON.parse(readFileSync(expectedFile, 'utf8'))
  let failures = 0
  // The addon must come from the per-platform package the registry served.
  const addons = Object.keys(require.cache).filter((file) => file.endsWith('.node'))
  const fromPlatform = addons.filter((file) => file.includes(`/node_modules/${platformPackage}/`))
  console.log(`  native addon: ${addons.map((f) => f.slice(f.indexOf('node_modules/'))).join(', ') || 'none'}`)
  if (addons.length !== 1 || fromPlatform.length !== 1) failures++
  const client = Client.fromEnv()
  try {
    for (const [reference, want] of Object.entries(expected)) {
      try {
        const secret = await client.get(reference)
        const value = secret.reveal()
        const shown = [inspect(secret), String(secret), JSON.stringify(secret)]
        const ok = value === want && !shown.some((text) => text.includes(want))
        console.log(`  ${reference}: ${ok ? 'ok' : 'MISMATCH'} (${value.length} chars)`)
        if (!ok) failures++
      } catch (err) {
        if (!(err instanceof SecretkitError)) throw err
        console.log(`  ${reference}: error ${err.code}`)
        failures++
      }
    }
  } finally {
    await client.close()
  }
  process.exitCode = failures ? 1 : 0
}

main().catch((err) => {
  console.error(`  ${err && err.name}: ${err && err.code}`)
  process.exitCode = 1
})
