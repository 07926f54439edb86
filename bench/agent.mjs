// Host agents under load: secretkit's `secretkit agent` against the AWS
// Secrets Manager Agent (aws-secretsmanager-agent), the peer users would pick.
//
// What it measures: for each target and each concurrency C in 1, 8, 64, C
// loops each issue `GET /secretsmanager/get?secretId=<id>` with the
// X-Aws-Parameters-Secrets-Token header over keep-alive connections (node:http,
// one connection per loop) for --seconds (default 5) after a 1 s warm-up at the
// same concurrency. Every answer must be 200 with a SecretString; anything else
// (or a socket error) counts as an error. Every latency is recorded with
// process.hrtime.bigint(). Printed: requests/s, p50 and p99 (µs), errors, the
// agent's CPU time per request (utime + stime of the pid given, /proc/<pid>/stat)
// and its RSS (VmRSS) before and after each run. The
// targets run one after the other at each concurrency (C outer, target inner),
// so each comparison is made under the same machine load; the last lines are
// the ratios first target / second target (ours / theirs) in this run.
// Both agents run on their default TTL (300 s): after the warm-up every
// measured request is a cache hit. The client (one Node process) shares the
// machine with the agent it measures, so at C = 64 on a small machine the
// figures are the pair's throughput, not the agent's alone: the agent's CPU
// per request is the figure the client does not bound.
//
// Run (both agents started by hand first, servers from tests/servers.py):
//   node bench/agent.mjs [--seconds 5] [--concurrency 1,8,64] [--secret-id ID] \
//     --target ours,http://127.0.0.1:2790,<token>,<pid> \
//     --target aws,http://127.0.0.1:2791,<token>,<pid>
// or AGENT_BENCH_TARGETS='ours,URL,TOKEN,PID;aws,URL,TOKEN,PID' node bench/agent.mjs
//
// The peer agent is built outside the repository and never committed:
//   git clone https://github.com/aws/aws-secretsmanager-agent /tmp/awsagent
//   cd /tmp/awsagent && cargo build --release
// and run from a scratch directory (it logs to ./logs/) with AWS_TOKEN=<token>,
// the AWS_* settings of the servers (the SDK honours AWS_ENDPOINT_URL) and
// `--config cfg.toml` holding only `http_port = "2791"` (ports < 1024 are
// refused). See BENCHMARKS.md for the figures.

import http from 'node:http';
import fs from 'node:fs';

function parseArgs(argv) {
  const opts = { seconds: 5, warmup: 1, concurrency: [1, 8, 64], secretId: 'prod/myapp/db-credentials', targets: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--seconds') opts.seconds = Number(next());
    else if (a === '--warmup') opts.warmup = Number(next());
    else if (a === '--concurrency') opts.concurrency = next().split(',').map(Number);
    else if (a === '--secret-id') opts.secretId = next();
    else if (a === '--target') opts.targets.push(parseTarget(next()));
    else throw new Error(`unknown argument ${a}`);
  }
  if (opts.targets.length === 0 && process.env.AGENT_BENCH_TARGETS) {
    opts.targets = process.env.AGENT_BENCH_TARGETS.split(';').filter(Boolean).map(parseTarget);
  }
  if (opts.targets.length === 0) throw new Error('give --target name,url,token,pid (or AGENT_BENCH_TARGETS)');
  return opts;
}

function parseTarget(spec) {
  const [name, url, token, pid] = spec.split(',');
  if (!name || !url || !token) throw new Error(`bad target ${spec}: expected name,url,token[,pid]`);
  return { name, url: new URL(url), token, pid: pid ? Number(pid) : null };
}

/** VmRSS of a process, in MiB (null without a pid or once it is gone). */
function rssMiB(pid) {
  if (!pid) return null;
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** CPU time (user + system) a process has used, in seconds (null without a pid). */
function cpuSeconds(pid) {
  if (!pid) return null;
  try {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ = 100 on Linux
  } catch {
    return null;
  }
}

/** One GET; resolves to true if the answer is 200 with a SecretString. */
function request(target, agent, path) {
  return new Promise((resolve) => {
    const req = http.get(
      { agent, host: target.url.hostname, port: target.url.port, path,
        headers: { 'X-Aws-Parameters-Secrets-Token': target.token } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve(false);
          try {
            resolve(typeof JSON.parse(Buffer.concat(chunks)).SecretString === 'string');
          } catch {
            resolve(false);
          }
        });
        res.on('error', () => resolve(false));
      },
    );
    req.on('error', () => resolve(false));
  });
}

/** C loops for `seconds`; returns the latencies (ns) of the good answers and the error count. */
async function load(target, agent, path, concurrency, seconds) {
  const latencies = [];
  let errors = 0;
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const loop = async () => {
    while (process.hrtime.bigint() < end) {
      const t0 = process.hrtime.bigint();
      const ok = await request(target, agent, path);
      if (ok) latencies.push(Number(process.hrtime.bigint() - t0));
      else errors++;
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  return { latencies, errors, elapsed };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function measure(target, concurrency, opts) {
  const path = `/secretsmanager/get?secretId=${encodeURIComponent(opts.secretId)}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  await load(target, agent, path, concurrency, opts.warmup);
  const rssBefore = rssMiB(target.pid);
  const cpuBefore = cpuSeconds(target.pid);
  const { latencies, errors, elapsed } = await load(target, agent, path, concurrency, opts.seconds);
  const cpu = target.pid ? cpuSeconds(target.pid) - cpuBefore : null;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return {
    rps: latencies.length / elapsed, // good answers only
    p50: percentile(sorted, 50) / 1e3,
    p99: percentile(sorted, 99) / 1e3,
    ok: latencies.length,
    errors,
    cpuPerReq: cpu == null ? null : (cpu * 1e6) / (latencies.length + errors),
    rssBefore,
    rssAfter: rssMiB(target.pid),
  };
}

const fmt = (x, digits = 0) => (x == null || Number.isNaN(x) ? 'n/a' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  console.log(`node ${process.version}; ${opts.seconds} s per run after ${opts.warmup} s warm-up; secretId=${opts.secretId}`);
  for (const t of opts.targets) console.log(`${t.name}: ${t.url.origin} pid ${t.pid ?? 'n/a'}, RSS at start ${fmt(rssMiB(t.pid), 1)} MiB`);
  console.log('\n| target | C | req/s | p50 µs | p99 µs | ok | errors | agent CPU µs/req | RSS before → after (MiB) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const results = {};
  for (const c of opts.concurrency) {
    for (const t of opts.targets) {
      const r = await measure(t, c, opts);
      (results[t.name] ??= {})[c] = r;
      console.log(`| ${t.name} | ${c} | ${fmt(r.rps)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.ok)} | ${fmt(r.errors)} | ${fmt(r.cpuPerReq, 1)} | ${fmt(r.rssBefore, 1)} → ${fmt(r.rssAfter, 1)} |`);
    }
  }
  console.log();
  for (const t of opts.targets) console.log(`${t.name}: RSS at end ${fmt(rssMiB(t.pid), 1)} MiB`);
  if (opts.targets.length >= 2) {
    const [ours, theirs] = opts.targets.map((t) => results[t.name]);
    const [a, b] = opts.targets.map((t) => t.name);
    console.log(`\nratios ${a} / ${b} (req/s: higher is better for ${a}; p99: lower is better for ${a})`);
    console.log('| C | req/s ratio | p99 ratio | agent CPU per request ratio |');
    console.log('| --- | --- | --- | --- |');
    for (const c of opts.concurrency) {
      const [o, t] = [ours[c], theirs[c]];
      console.log(`| ${c} | ${fmt(o.rps / t.rps, 2)}× | ${fmt(o.p99 / t.p99, 2)}× | ${fmt(o.cpuPerReq / t.cpuPerReq, 2)}× |`);
    }
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
