// The WASM leak canary probe, runtime-neutral: test/canary.test.mjs runs it
// in Node, and in Deno (deno.mjs) and workerd (worker.mjs), which print its
// result as JSON. It reads the canary planted by tests/servers.py through
// every backend the edge has (ssm, asm, asm-json, vault; env: and file: must
// fail there), checks reveal() against the canary, and returns every text
// the secrets, errors, events, stats and the client render to, for the
// caller to scan. It also logs them with the runtime's console, whose
// output the caller scans too.

const BACKENDS = ['ssm', 'asm', 'asm-json', 'vault'];

/**
 * @param {object} lib        the package's exports ({ Client, SecretkitError })
 * @param {object} config     explicit client config (aws, vault)
 * @param {string} canary     the planted value (compared, never rendered)
 * @param {object} refs       scheme -> reference (SK_CANARY_* of the env file)
 * @param {function|null} inspect  the runtime's inspect (util.inspect, Deno.inspect), if any
 */
export async function probe({ Client, SecretkitError }, config, canary, refs, inspect) {
  const outputs = [];
  const problems = [];
  const show = (label, fn) => {
    let text;
    try {
      text = String(fn());
    } catch (err) {
      text = `threw ${err?.name}: ${err?.message}`; // e.g. JSON.stringify of a cycle
    }
    outputs.push([label, text]);
  };
  const renderAll = (label, obj) => {
    show(`${label} String`, () => String(obj));
    show(`${label} template`, () => `${obj}`);
    show(`${label} plus`, () => '' + obj);
    show(`${label} JSON`, () => JSON.stringify(obj));
    show(`${label} JSON nested`, () => JSON.stringify({ nested: [obj] }));
    show(`${label} keys`, () => JSON.stringify([Object.keys(obj), Object.getOwnPropertyNames(obj)]));
    show(`${label} entries`, () => JSON.stringify(Object.entries(obj)));
    show(`${label} spread`, () => JSON.stringify({ ...obj }));
    show(`${label} structuredClone`, () => JSON.stringify(structuredClone(obj)));
    if (inspect) {
      show(`${label} inspect`, () => inspect(obj));
      show(`${label} inspect all`, () => inspect(obj, { showHidden: true, depth: Infinity, getters: true }));
      show(`${label} inspect nested`, () => inspect({ a: [obj] }, { depth: Infinity }));
    }
    console.log(`[canary ${label}]`, obj, `${obj}`);
    console.error(`[canary ${label}]`, { obj });
  };
  const renderError = (label, err) => {
    if (!(err instanceof SecretkitError)) problems.push(`${label}: not a SecretkitError: ${err?.name}`);
    renderAll(label, err);
    show(`${label} message`, () => err.message);
    show(`${label} stack`, () => err.stack);
    show(`${label} fields`, () => JSON.stringify({ code: err.code, kind: err.kind, reference: err.reference }));
  };
  const rejection = async (promise) => {
    try {
      await promise;
    } catch (err) {
      return err;
    }
    throw new Error('expected a rejection');
  };
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // Reads: get, a hit, refresh, getMany, prefetch.
  const events = [];
  const client = new Client(config);
  client.onEvent((e) => events.push(e));
  for (const scheme of BACKENDS) {
    const secret = await client.get(refs[scheme]);
    if (secret.reveal() !== canary) problems.push(`${scheme}: ${refs[scheme]} is not the planted canary`);
    if (new TextDecoder().decode(secret.revealBytes()) !== canary) problems.push(`${scheme}: revealBytes`);
    renderAll(`get(${scheme})`, secret);
    const hit = await client.get(refs[scheme]);
    renderAll(`hit(${scheme})`, hit);
    const refreshed = await client.refresh(refs[scheme]);
    if (refreshed.reveal() !== canary) problems.push(`${scheme}: refresh`);
    renderAll(`refresh(${scheme})`, refreshed);
  }
  const many = await new Client(config).getMany(BACKENDS.map((s) => refs[s]));
  if (!many.every((s) => s.reveal() === canary)) problems.push('getMany');
  renderAll('getMany', many);
  outputs.push(['prefetch count', String(await new Client(config).prefetch('ssm:/test/'))]);

  // The edge has no environment and no filesystem: env: and file: fail.
  for (const scheme of ['env', 'file']) {
    const err = await rejection(client.get(refs[scheme]));
    if (err?.code !== 'CONFIG') problems.push(`${scheme}: expected CONFIG, got ${err?.code}`);
    renderError(`edge ${scheme}`, err);
  }

  // Errors: from the cached value and straight from the backend, and in a batch.
  const asmJson = refs['asm-json'].split('#')[0];
  const vault = refs.vault.split('#')[0];
  const failing = {
    'missing JSON field': `${asmJson}#missing_field`,
    'missing Vault field': `${vault}#missing_field`,
    'field of a non-JSON SSM value': `${refs.ssm}#password`,
    'field of a non-JSON ASM value': `${refs.asm}#password`,
    'wrong Vault ?version=': `${vault}?version=9#password`,
    'wrong ASM ?version=': `${refs.asm}?version=00000000-0000-4000-8000-000000000000`,
    'missing ASM stage': `${refs.asm}?stage=AWSPREVIOUS`,
    'wrong SSM version': `${refs.ssm}:99`,
    'invalid reference': `${refs.ssm}?ttl=forever`,
  };
  const codes = new Set();
  for (const [what, ref] of Object.entries(failing)) {
    const err = await rejection(client.get(ref));
    codes.add(err?.code);
    renderError(`error ${what}`, err);
    renderError(`error uncached ${what}`, await rejection(new Client(config).get(ref)));
  }
  for (const code of ['NOT_FOUND', 'INVALID_RESPONSE', 'INVALID_REFERENCE']) {
    if (!codes.has(code)) problems.push(`no ${code} error; got ${[...codes]}`);
  }
  const settled = await new Client(config).getMany([...Object.values(failing), ...BACKENDS.map((s) => refs[s])], {
    settled: true,
  });
  settled.forEach((item, i) => (item instanceof Error ? renderError(`getMany item ${i}`, item) : renderAll(`getMany item ${i}`, item)));

  // Events: created and refreshed above; evicted (one-entry cache); error (a dead backend).
  const small = new Client({ ...config, maxEntries: 1 });
  small.onEvent((e) => events.push(e));
  await small.get(refs.ssm);
  await small.get(refs.vault);
  const broken = new Client({ vault: { address: 'http://127.0.0.1:9', token: 't' }, timeout: 2 });
  broken.onEvent((e) => events.push(e));
  renderError('broken read', await rejection(broken.get(refs.vault)));
  await Promise.all([client.backgroundWork(), small.backgroundWork(), broken.backgroundWork()]);
  await sleep(10);
  const kinds = new Set(events.map((e) => e.kind));
  for (const kind of ['created', 'refreshed', 'evicted', 'error']) {
    if (!kinds.has(kind)) problems.push(`no ${kind} event; got ${[...kinds]}`);
  }
  events.forEach((event, i) => {
    renderAll(`event ${i} ${event.kind}`, event);
    if (event.error) renderError(`event ${i} error`, event.error);
  });

  // Stats, the client, a read after close.
  renderAll('stats', client.stats());
  renderAll('client', client);
  outputs.push(['closed', String(await client.close())]);
  renderError('read after close', await rejection(client.get(refs.ssm)));
  await Promise.all([small.close(), broken.close()]);

  return { schemes: BACKENDS, bytes: canary.length, kinds: [...kinds].sort(), problems, outputs };
}
