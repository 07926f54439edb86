// Cache-hit cost of the WASM package, under whichever runtime runs this file
// (Node or Deno), next to awaiting a plain Map lookup in the same run, against
// the real moto server of tests/servers.py. Not a test: it prints figures.
//
//   .venv/bin/python tests/servers.py start --env-file /tmp/sk-env --fixtures
//   set -a; . /tmp/sk-env; set +a; cd bindings-wasm
//   node bench/hit.mjs
//   node_modules/.bin/deno run --allow-net=127.0.0.1 --allow-env --allow-read bench/hit.mjs
import process from 'node:process';
import { Client } from '../pkg/index.mjs';

const env = process.env;
for (const name of ['AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
  if (!env[name]) throw new Error(`${name} is not set: source the env file tests/servers.py wrote`);
}
const ROUNDS = Number(env.BENCH_ROUNDS ?? 7);
const N = Number(env.BENCH_N ?? 1_000_000);
const runtime = globalThis.Deno ? `deno ${globalThis.Deno.version.deno}` : `node ${process.version}`;
console.log(`runtime: ${runtime}; ${ROUNDS} interleaved rounds of ${N.toLocaleString('en')} reads per case; best round reported`);

const config = {
  aws: {
    region: env.AWS_REGION,
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    endpoint: env.AWS_ENDPOINT_URL,
  },
  defaultTtl: 24 * 3600, // every timed read is a hit
};
const client = new Client(config);
// The audit trail on: each hit goes to the core with the identity passed.
let audited = 0;
const auditedClient = new Client({ ...config, audit: { onRecords: (records) => (audited += records.length) } });
const who = { identity: { service: 'bench', user: 'u-1', requestId: 'r-1' } };
const ssmRef = 'ssm:/prod/myapp/db-password';
const fieldRef = 'asm:prod/myapp/db-credentials#password';
await client.get(ssmRef);
await client.get(fieldRef);
await auditedClient.get(ssmRef, who);
const map = new Map([[ssmRef, 'value']]);

let sink = 0;
const cases = [
  ['secretkit-wasm  await client.get(ssm)', async () => { for (let i = 0; i < N; i++) sink ^= (await client.get(ssmRef)) ? 1 : 0; }],
  ['secretkit-wasm  await client.get(asm#field)', async () => { for (let i = 0; i < N; i++) sink ^= (await client.get(fieldRef)) ? 1 : 0; }],
  ['secretkit-wasm  await client.get(ssm), audited', async () => { for (let i = 0; i < N; i++) sink ^= (await auditedClient.get(ssmRef, who)) ? 1 : 0; }],
  ['await Map.get', async () => { for (let i = 0; i < N; i++) sink ^= (await map.get(ssmRef)) ? 1 : 0; }],
];
const best = new Map();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of cases) {
    const started = performance.now();
    await run();
    const ns = ((performance.now() - started) * 1e6) / N;
    best.set(name, Math.min(best.get(name) ?? Infinity, ns));
  }
}
const base = best.get('secretkit-wasm  await client.get(ssm)');
console.log('ns per cache hit (best round)'.padEnd(46), 'ns'.padStart(8), '  time / secretkit get(ssm)');
for (const [name, ns] of best) console.log(name.padEnd(46), ns.toFixed(1).padStart(8), `  ${(ns / base).toFixed(2)}x`);
const stats = client.stats();
if (stats.misses !== 2) throw new Error(`secretkit missed while timed: ${JSON.stringify(stats)}`);
console.log(`stats after the run: hits=${stats.hits} misses=${stats.misses}`);
await auditedClient.backgroundWork(); // hands the audit records over, as on the edge
if (audited === 0) throw new Error('the audited client recorded nothing');
if (sink === 42) console.log();
