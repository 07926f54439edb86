// The load side of bench/frameworks.sh: autocannon against each target,
// interleaved (each round in a rotated order), a warm-up run before every
// measured run. Prints each run, then per framework the median and best
// requests/s, p99 latency, the server's CPU time per request, and the
// ratios to the variant named first.
//
//   node load.mjs --rounds 3 --duration 10 --warmup 2 --connections 20 \
//     django/secretkit=http://127.0.0.1:PORT/secret/@PID,PID django/boto3=... ...
//
// The pids after `@` are the server's processes (a gunicorn master and its
// workers, or the node process): their user+system CPU time over a measured
// run, divided by the requests answered, is the CPU per request. Unlike
// requests/s it hardly moves with what else runs on the machine.
//
// Exits 1 if any measured run had an error, a timeout or a non-2xx answer.
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '20' },
  },
})
const rounds = Number(opt.rounds)
const duration = Number(opt.duration)
const warmup = Number(opt.warmup)
const connections = Number(opt.connections)
const targets = positionals.map((arg) => {
  const [label, rest] = arg.split(/=(.*)/s)
  const at = rest.lastIndexOf('@')
  const url = at < 0 ? rest : rest.slice(0, at)
  const pids = at < 0 ? [] : rest.slice(at + 1).split(',').filter(Boolean).map(Number)
  const [group, name] = label.split('/')
  return { label, group, name, url, pids, runs: [] }
})

// utime + stime of these processes, in clock ticks (USER_HZ, 100 on Linux).
const TICK_US = 10_000
const cpuTicks = (pids) =>
  pids.reduce((sum, pid) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return sum + Number(fields[11]) + Number(fields[12]) // fields 14 and 15 of proc(5)
  }, 0)

const run = (url, seconds) =>
  new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: seconds }, (err, result) => (err ? reject(err) : resolve(result)))
  })

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ')
const pad = (s, n) => String(s).padEnd(n)
const num = (x, digits = 0) => x.toFixed(digits).padStart(8)

let failed = false
for (let r = 0; r < rounds; r++) {
  const order = targets.map((_, i) => targets[(i + r) % targets.length])
  for (const t of order) {
    if (warmup > 0) await run(t.url, warmup)
    const before = cpuTicks(t.pids)
    const res = await run(t.url, duration)
    const cpu = ((cpuTicks(t.pids) - before) * TICK_US) / res.requests.total
    const rps = res.requests.total / res.duration
    const bad = res.errors + res.timeouts + res.non2xx
    t.runs.push({ rps, p50: res.latency.p50, p99: res.latency.p99, cpu, bad })
    if (bad) failed = true
    console.log(
      `round ${r + 1}  ${pad(t.label, 18)} ${num(rps, 1)} req/s  p50 ${res.latency.p50} ms  ` +
        `p99 ${res.latency.p99} ms  server CPU ${cpu.toFixed(0)} µs/req  ` +
        `errors ${res.errors} timeouts ${res.timeouts} non-2xx ${res.non2xx}  (load ${load()})`,
    )
  }
}

console.log(`\nSummary (${rounds} rounds, ${connections} connections, ${duration} s each after a ${warmup} s warm-up)`)
const groups = [...new Set(targets.map((t) => t.group))]
for (const group of groups) {
  const members = targets.filter((t) => t.group === group)
  const stats = members.map((t) => ({
    ...t,
    med: median(t.runs.map((x) => x.rps)),
    best: Math.max(...t.runs.map((x) => x.rps)),
    p99: median(t.runs.map((x) => x.p99)),
    cpu: median(t.runs.map((x) => x.cpu)),
  }))
  const [first] = stats
  console.log(`\n${group}: req/s median and best of ${rounds}; p99 and server CPU per request, median`)
  console.log(
    `  ${pad('variant', 10)} ${'median'.padStart(8)} ${'best'.padStart(8)}   ${'p99 ms'.padStart(8)}  ${'CPU µs/req'.padStart(10)}` +
      `   ${first.name} req/s ÷ variant's (median, best)   ${first.name} CPU/req − variant's`,
  )
  for (const s of stats) {
    console.log(
      `  ${pad(s.name, 10)} ${num(s.med)} ${num(s.best)}   ${num(s.p99)}  ${s.cpu.toFixed(0).padStart(10)}` +
        `   ${(first.med / s.med).toFixed(3)}  ${(first.best / s.best).toFixed(3)}` +
        `                        ${(first.cpu - s.cpu >= 0 ? '+' : '') + (first.cpu - s.cpu).toFixed(0)} µs`,
    )
  }
}
if (failed) {
  console.error('\nFAILED: some run had errors, timeouts or non-2xx answers')
  process.exit(1)
}
