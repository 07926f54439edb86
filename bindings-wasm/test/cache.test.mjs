// The cache engine through the binding, against the real moto and OpenBao:
// refresh, getMany, prefetch, stats, events and refresh ahead with
// backgroundWork(). Each test seeds its own names so files can run in parallel.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';

import {
  Client,
  Secret,
  SecretkitError,
  aws,
  closedPort,
  rejectsWith,
  serverClient,
  serverConfig,
  sleep,
  uniquePrefix,
} from './support.mjs';

const DB_PASSWORD = 's3cureP@ssw0rd!';
const NO_CALLS = { ssm: 0, asm: 0, vault: 0, env: 0, file: 0 };
const range = (n) => Array.from({ length: n }, (_, i) => String(i).padStart(2, '0'));

/** 25 SSM SecureStrings `/<prefix>/pNN` and 25 Secrets Manager secrets `<prefix>/sNN`, each valued `v<name>`. */
function seedFifty(label) {
  const prefix = uniquePrefix(label);
  const ssm = range(25).map((i) => `/${prefix}/p${i}`);
  const asm = range(25).map((i) => `${prefix}/s${i}`);
  aws(
    `for n in args["ssm"]: ssm.put_parameter(Name=n, Value="v" + n, Type="SecureString")
for n in args["asm"]: asm.create_secret(Name=n, SecretString="v" + n)`,
    { ssm, asm },
  );
  return { prefix, ssm: ssm.map((n) => `ssm:${n}`), asm: asm.map((n) => `asm:${n}`) };
}

const valueOf = (ref) => `v${ref.slice('ssm:'.length)}`;

/** Collects the client's events. */
function recorder(client) {
  const events = [];
  const stop = client.onEvent((event) => events.push(event));
  return { events, stop, kinds: () => events.map((e) => e.kind) };
}

test('stats() is a plain object of counters, all zero on a new client', () => {
  assert.deepEqual(serverClient().stats(), {
    hits: 0,
    misses: 0,
    refreshes: 0,
    staleServes: 0,
    errors: 0,
    backendCalls: NO_CALLS,
  });
});

test('getMany: 25 SSM names and 25 Secrets Manager secrets in 3 + 2 calls, answers in order', async () => {
  const { ssm, asm } = seedFifty('many');
  const refs = ssm.flatMap((ref, i) => [ref, asm[i]]); // interleaved: order is the caller's
  const client = serverClient();
  const secrets = await client.getMany(refs);
  assert.equal(secrets.length, 50);
  secrets.forEach((secret, i) => {
    assert.ok(secret instanceof Secret);
    assert.equal(secret.reference, refs[i]);
    assert.equal(secret.reveal(), valueOf(refs[i]));
    assert.equal(String(secret), `Secret(${refs[i]}, <redacted>)`);
  });
  let stats = client.stats();
  assert.deepEqual(stats.backendCalls, { ...NO_CALLS, ssm: 3, asm: 2 });
  assert.equal(stats.misses, 50);

  // Now cached: as many hits, no calls, from getMany and from get alike.
  await client.getMany(refs);
  assert.equal((await client.get(ssm[7])).reveal(), valueOf(ssm[7]));
  stats = client.stats();
  assert.deepEqual(stats.backendCalls, { ...NO_CALLS, ssm: 3, asm: 2 });
  assert.equal(stats.hits, 51);
});

test('getMany rejects with the first error; with settled, errors stand in place', async () => {
  const client = serverClient();
  const missing = 'ssm:/prod/myapp/missing-in-batch';
  const refs = ['ssm:/prod/myapp/db-password', missing, 'nope', 42, 'asm:prod/myapp/db-credentials#username'];
  await rejectsWith(client.getMany(refs), { code: 'NOT_FOUND', reference: missing });

  const settled = await client.getMany(refs, { settled: true });
  assert.equal(settled.length, 5);
  assert.equal(settled[0].reveal(), DB_PASSWORD);
  assert.ok(settled[1] instanceof SecretkitError);
  assert.equal(settled[1].code, 'NOT_FOUND');
  assert.equal(settled[1].reference, missing);
  assert.equal(settled[2].code, 'INVALID_REFERENCE');
  assert.equal(settled[2].reference, 'nope');
  assert.equal(settled[3].code, 'INVALID_REFERENCE');
  assert.equal(settled[4].reveal(), 'app_user');

  // Any iterable of references; a lone string is not a list of them.
  const fromSet = await client.getMany(new Set(['ssm:/prod/myapp/db-password']));
  assert.equal(fromSet[0].reveal(), DB_PASSWORD);
  assert.deepEqual(await client.getMany([]), []);
  await rejectsWith(client.getMany('ssm:/prod/myapp/db-password'), { code: 'INVALID_REFERENCE' });
  await rejectsWith(client.getMany(undefined), { code: 'INVALID_REFERENCE' });
});

test('prefetch loads a prefix; the reads after it make no backend calls', async () => {
  const { prefix, ssm, asm } = seedFifty('prefetch');
  const client = serverClient();
  assert.equal(await client.prefetch(`ssm:/${prefix}/`), 25);
  assert.equal(await client.prefetch(`asm:${prefix}/`), 25);
  const calls = client.stats().backendCalls;
  assert.ok(calls.ssm >= 1 && calls.asm >= 1, JSON.stringify(calls));

  for (const ref of ssm) {
    assert.equal((await client.get(ref)).reveal(), valueOf(ref));
  }
  const secrets = await client.getMany(asm);
  secrets.forEach((secret, i) => assert.equal(secret.reveal(), valueOf(asm[i])));
  const stats = client.stats();
  assert.deepEqual(stats.backendCalls, calls, 'no calls after prefetch');
  assert.equal(stats.hits, 50);
  assert.equal(stats.misses, 0);

  await rejectsWith(client.prefetch('vault:secret/myapp/'), { code: 'CONFIG' });
  await rejectsWith(client.prefetch('nope'), { code: 'INVALID_REFERENCE' });
});

test('refresh picks up a put-parameter that the cache would otherwise hide', async () => {
  const name = `/${uniquePrefix('refresh')}/rotating`;
  const ref = `ssm:${name}`;
  aws('ssm.put_parameter(Name=args["n"], Value="one", Type="SecureString")', { n: name });
  const client = serverClient();
  const first = await client.get(ref);
  assert.equal(first.reveal(), 'one');
  assert.equal(first.version, '1');
  assert.equal(await client.get(ref), first, 'an unchanged hit hands out the same Secret');

  aws('ssm.put_parameter(Name=args["n"], Value="two", Type="SecureString", Overwrite=True)', { n: name });
  assert.equal((await client.get(ref)).reveal(), 'one', 'still cached');
  const refreshed = await client.refresh(ref);
  assert.equal(refreshed.reveal(), 'two');
  assert.equal(refreshed.version, '2');
  assert.equal(await client.get(ref), refreshed, 'the refreshed value is what the cache serves');
  assert.equal(first.reveal(), 'one', 'a Secret already handed out keeps its value');
  assert.equal(client.stats().backendCalls.ssm, 2);
  await rejectsWith(client.refresh('ssm:/prod/myapp/missing'), { code: 'NOT_FOUND' });
});

test('events: created, then changed with the old and new versions, delivered before the promise settles', async () => {
  const name = `/${uniquePrefix('events')}/rotating`;
  const ref = `ssm:${name}`;
  aws('ssm.put_parameter(Name=args["n"], Value="one", Type="SecureString")', { n: name });
  const client = serverClient();
  const { events, stop, kinds } = recorder(client);
  const before = Date.now();
  await client.get(ref);
  assert.deepEqual(kinds(), ['created']);
  assert.deepEqual(
    { ...events[0], at: undefined },
    {
      kind: 'created',
      reference: ref,
      oldVersion: null,
      newVersion: '1',
      error: null,
      at: undefined,
      // Lease fields, null outside the Vault lifecycle.
      leaseId: null,
      oldLeaseId: null,
      username: null,
      oldUsername: null,
      ttlSecs: null,
    },
  );
  assert.ok(events[0].at instanceof Date);
  assert.ok(events[0].at.getTime() >= before - 1000 && events[0].at.getTime() <= Date.now() + 1000);

  aws('ssm.put_parameter(Name=args["n"], Value="two", Type="SecureString", Overwrite=True)', { n: name });
  await client.refresh(ref);
  assert.deepEqual(kinds(), ['created', 'changed']);
  assert.equal(events[1].oldVersion, '1');
  assert.equal(events[1].newVersion, '2');
  assert.equal(events[1].reference, ref);
  assert.ok(!JSON.stringify(events).includes('two'), 'events carry no values');

  await client.refresh(ref);
  assert.deepEqual(kinds(), ['created', 'changed', 'refreshed']);
  stop();
  stop(); // idempotent
  await client.refresh(ref);
  assert.equal(events.length, 3, 'nothing after unsubscribing');
});

test('events: evicted when the cache is full', async () => {
  const client = serverClient({ maxEntries: 1 });
  const { events, kinds } = recorder(client);
  await client.get('ssm:/prod/myapp/db-password');
  await client.get('asm:prod/myapp/db-credentials');
  assert.deepEqual(kinds(), ['created', 'created', 'evicted']);
  assert.equal(events[2].reference, 'ssm:/prod/myapp/db-password');
});

test('an error event, with a SecretkitError, when the backend is down', async () => {
  const port = await closedPort();
  const client = new Client({ vault: { address: `http://127.0.0.1:${port}`, token: 'x' }, timeout: 5 });
  const { events, kinds } = recorder(client);
  await rejectsWith(client.get('vault:secret/myapp/config#api_key'), { code: 'UNAVAILABLE' });
  assert.deepEqual(kinds(), ['error']);
  const [event] = events;
  assert.equal(event.reference, 'vault:secret/myapp/config');
  assert.ok(event.error instanceof SecretkitError);
  assert.equal(event.error.code, 'UNAVAILABLE');
  assert.equal(event.error.kind, 'unavailable');
  assert.equal(event.error.reference, 'vault:secret/myapp/config');
  assert.ok(event.at instanceof Date);
  assert.equal(client.stats().errors, 1);
});

test('a callback that throws (or rejects) is reported and breaks nothing', async (t) => {
  const reported = t.mock.method(console, 'error', () => {});
  const client = serverClient();
  const seen = [];
  client.onEvent(() => {
    throw new Error('callback bug');
  });
  client.onEvent(async () => {
    throw new Error('async callback bug');
  });
  client.onEvent((event) => seen.push(event.kind));
  const secret = await client.get('ssm:/prod/myapp/db-password');
  assert.equal(secret.reveal(), DB_PASSWORD);
  await client.refresh('ssm:/prod/myapp/db-password');
  await sleep(0);
  assert.deepEqual(seen, ['created', 'refreshed'], 'the other callbacks still ran');
  assert.equal(reported.mock.callCount(), 4);
  assert.match(String(reported.mock.calls[0].arguments[1]), /callback bug/);
  assert.throws(() => client.onEvent('not a function'), TypeError);
});

test('a client with an onEvent callback is still garbage collected once unused', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  let collected = 0;
  const registry = new FinalizationRegistry(() => collected++);
  for (let i = 0; i < 50; i++) {
    const client = new Client({});
    client.onEvent(() => {});
    registry.register(client, i);
  }
  for (let i = 0; i < 20 && collected < 50; i++) {
    gc();
    await sleep(10);
  }
  assert.ok(collected >= 25, `only ${collected} of 50 clients were collected`);
});

test('negativeTtl: a not-found answer is remembered for that long, and its hit counts once', async () => {
  const ref = 'ssm:/prod/myapp/never-there';
  const remembering = serverClient();
  await rejectsWith(remembering.get(ref), { code: 'NOT_FOUND' });
  await rejectsWith(remembering.get(ref), { code: 'NOT_FOUND', reference: ref });
  let stats = remembering.stats();
  assert.equal(stats.backendCalls.ssm, 1);
  assert.deepEqual([stats.misses, stats.hits], [1, 1]);

  const forgetting = serverClient({ negativeTtl: 0 });
  await rejectsWith(forgetting.get(ref), { code: 'NOT_FOUND' });
  await rejectsWith(forgetting.get(ref), { code: 'NOT_FOUND' });
  stats = forgetting.stats();
  assert.equal(stats.backendCalls.ssm, 2);
});

test('refresh ahead: a hit past refreshAhead is served at once and refreshed in the background', async () => {
  const client = serverClient({ defaultTtl: 1, refreshAhead: 0.5, ttlJitter: 0 });
  const { events, kinds } = recorder(client);
  const ref = 'ssm:/prod/myapp/db-password';
  const first = await client.get(ref);
  await client.backgroundWork(); // nothing started: resolves at once
  await sleep(600);

  const started = performance.now();
  const second = await client.get(ref);
  const took = performance.now() - started;
  assert.equal(second.fetchedAt.getTime(), first.fetchedAt.getTime(), 'answered from the cache');
  assert.ok(took < 50, `the hit waited ${took} ms`);

  await client.backgroundWork();
  const stats = client.stats();
  assert.equal(stats.refreshes, 1);
  assert.equal(stats.backendCalls.ssm, 2);
  assert.deepEqual(kinds(), ['created', 'refreshed']);
  assert.equal(events[1].reference, ref);
  const third = await client.get(ref);
  assert.ok(third.fetchedAt.getTime() > first.fetchedAt.getTime(), 'the refreshed value is served');
  assert.equal(third.reveal(), DB_PASSWORD);
  assert.equal(client.stats().refreshes, 1, 'one refresh per due entry');
});

test('hit path: a change to a shared entry through another spelling is seen by the next hit', async () => {
  const name = `/${uniquePrefix('hits')}/shared`;
  aws('ssm.put_parameter(Name=args["n"], Value="one", Type="SecureString")', { n: name });
  const client = serverClient({ defaultTtl: 3600 });
  const plain = `ssm:${name}`;
  const other = `ssm:${name}?ttl=2h`;
  const first = await client.get(plain);
  assert.equal(await client.get(plain), first, 'a hit: its window now runs for most of an hour');
  aws('ssm.put_parameter(Name=args["n"], Value="two", Type="SecureString", Overwrite=True)', { n: name });
  // The other spelling stores into the same entry: the plain reference's
  // window is still open, the generation is not.
  assert.equal((await client.refresh(other)).reveal(), 'two');
  assert.equal((await client.get(plain)).reveal(), 'two');
  assert.equal(client.stats().backendCalls.ssm, 2);
});

test('hit path: stats count every hit, including those answered in JS', async () => {
  const client = serverClient();
  const ref = 'vault:secret/myapp/config#api_key';
  await client.get(ref);
  for (let i = 0; i < 999; i++) await client.get(ref);
  const stats = client.stats();
  assert.deepEqual([stats.misses, stats.hits], [1, 999]);
  assert.equal(client.stats().hits, 999, 'counted once');
  client.invalidate(ref);
  await client.get(ref);
  assert.deepEqual([client.stats().misses, client.stats().hits], [2, 999]);
});

test('hit path: repeats stop at the refresh-ahead point, where the core starts the refresh', async () => {
  const client = serverClient({ defaultTtl: 1, refreshAhead: 0.5, ttlJitter: 0 });
  const ref = 'ssm:/prod/myapp/db-password';
  const first = await client.get(ref);
  for (let i = 0; i < 100; i++) assert.equal(await client.get(ref), first);
  await client.backgroundWork();
  assert.equal(client.stats().refreshes, 0, 'not due yet');
  await sleep(600);
  assert.equal(await client.get(ref), first, 'served from the cache while it refreshes');
  await client.backgroundWork();
  assert.equal(client.stats().refreshes, 1);
  const next = await client.get(ref);
  assert.notEqual(next, first, 'the refreshed read, not the repeated one');
});

/** A TCP proxy to `target` (an http://host:port address) that can be cut. */
async function cuttableProxy(target) {
  const { hostname, port } = new URL(target);
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `http://127.0.0.1:${server.address().port}`,
    cut: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

test('backgroundWork() resolves, never rejects, when the background refresh fails', async () => {
  const { vault } = serverConfig();
  const proxy = await cuttableProxy(vault.address);
  const client = new Client({
    vault: { ...vault, address: proxy.address },
    defaultTtl: 1,
    refreshAhead: 0.5,
    ttlJitter: 0,
    timeout: 2,
  });
  const { events, kinds } = recorder(client);
  const ref = 'vault:secret/myapp/config#db_name';
  assert.equal((await client.get(ref)).reveal(), 'myapp_prod');
  await proxy.cut();
  await sleep(600);
  assert.equal((await client.get(ref)).reveal(), 'myapp_prod', 'served while the refresh runs');
  await client.backgroundWork();
  assert.deepEqual(kinds(), ['created', 'error']);
  assert.equal(events[1].error.code, 'UNAVAILABLE');
  const stats = client.stats();
  assert.deepEqual([stats.refreshes, stats.errors], [1, 1]);
  assert.equal((await client.get(ref)).reveal(), 'myapp_prod', 'still fresh: the value stays');
});

test('every cache setting is accepted', async () => {
  const client = serverClient({
    defaultTtl: 60,
    ttlJitter: 0.2,
    refreshAhead: 1,
    maxStale: 0,
    negativeTtl: 5,
    retryBase: 0.5,
    retryMax: 30,
    maxEntries: 10,
    timeout: 3,
  });
  assert.equal((await client.get('ssm:/prod/myapp/db-password')).reveal(), DB_PASSWORD);
});
