'use strict'
// Install test, npm: what `npm install NAME` put in APP_DIR, checked the way
// a user's Node would meet it.
//   node check-pkg.cjs APP_DIR NAME REGISTRY_URL [PLATFORM_PACKAGE]
// - NAME (and PLATFORM_PACKAGE) installed, resolved from REGISTRY_URL
//   according to package-lock.json;
// - every file its package.json points at (main, module, types, exports)
//   is in the package;
// - with PLATFORM_PACKAGE: it is one of NAME's optionalDependencies, at
//   NAME's version, with os/cpu(/libc) fields, and no other
//   optionalDependency was installed (the others are for other platforms);
//   NAME ships no .node itself, so the addon can only come from it.
const fs = require('node:fs')
const path = require('node:path')

const [appDir, name, registry, platformPackage] = process.argv.slice(2)
const lock = JSON.parse(fs.readFileSync(path.join(appDir, 'package-lock.json'), 'utf8'))
let failures = 0
function check(ok, what) {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`)
  if (!ok) failures++
}

function manifest(pkg) {
  const file = path.join(appDir, 'node_modules', pkg, 'package.json')
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : null
}

function targets(value, out = []) {
  if (typeof value === 'string') out.push(value)
  else if (value && typeof value === 'object') for (const v of Object.values(value)) targets(v, out)
  return out
}

function installed(pkg) {
  const json = manifest(pkg)
  check(json !== null, `${pkg} installed in node_modules/`)
  if (!json) return null
  const resolved = (lock.packages?.[`node_modules/${pkg}`] ?? {}).resolved ?? '(none)'
  check(resolved.startsWith(registry), `${pkg}@${json.version} resolved from the private registry: ${resolved}`)
  const files = [json.main, json.module, json.types, json.typings, ...targets(json.exports)].filter(Boolean)
  const missing = [...new Set(files)].filter((f) => !fs.existsSync(path.join(appDir, 'node_modules', pkg, f)))
  check(missing.length === 0, `${pkg}: the ${new Set(files).size} files its package.json names exist${missing.length ? ` (missing: ${missing.join(', ')})` : ''}`)
  return json
}

const main = installed(name)
if (main && platformPackage) {
  const optional = main.optionalDependencies ?? {}
  check(optional[platformPackage] === main.version,
    `${name}'s optionalDependencies name ${platformPackage}@${main.version} (${Object.keys(optional).length} platform packages: ${Object.keys(optional).join(', ') || 'none'})`)
  const platform = installed(platformPackage)
  if (platform) {
    check(Array.isArray(platform.os) && Array.isArray(platform.cpu),
      `${platformPackage} declares os ${JSON.stringify(platform.os)}, cpu ${JSON.stringify(platform.cpu)}, libc ${JSON.stringify(platform.libc)}`)
  }
  const others = Object.keys(optional).filter((p) => p !== platformPackage && manifest(p) !== null)
  check(others.length === 0, `no other platform's package installed${others.length ? ` (found ${others.join(', ')})` : ''}`)
  const own = fs.readdirSync(path.join(appDir, 'node_modules', name)).filter((f) => f.endsWith('.node'))
  check(own.length === 0, `${name} itself ships no .node addon${own.length ? ` (found ${own.join(', ')})` : ''}`)
}
process.exitCode = failures ? 1 : 0
