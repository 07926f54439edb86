// The idiomatic JS API over the wasm-bindgen exports (NativeClient,
// NativeSecret, parseReference). Thin: wrap, convert errors, format
// redacted. The module must already be initialised (index.mjs / workerd.mjs).
import * as native from './secretkit_wasm.js';

const INSPECT = Symbol.for('nodejs.util.inspect.custom'); // Node, and Deno's node compat
const DENO_INSPECT = Symbol.for('Deno.customInspect');
const INTERNAL = Symbol('secretkit.internal');

/** Every secretkit failure: `code` ('NOT_FOUND'), `kind` ('not_found'), `reference`. */
export class SecretkitError extends Error {
  constructor(message, { code, kind, reference = null } = {}) {
    super(message);
    this.code = code;
    this.kind = kind;
    this.reference = reference;
  }

  get name() {
    return 'SecretkitError';
  }
}

// The native side throws plain Errors named SecretkitError with the fields set.
function convert(e) {
  if (e instanceof SecretkitError || e?.name !== 'SecretkitError' || typeof e.code !== 'string') {
    return e;
  }
  return new SecretkitError(e.message, e);
}

function call(fn) {
  try {
    return fn();
  } catch (e) {
    throw convert(e);
  }
}

async function settle(promise) {
  try {
    return await promise;
  } catch (e) {
    throw convert(e);
  }
}

/** A secret value; redacted in every formatting path, plain only via reveal(). */
export class Secret {
  #native;
  // The text, once revealed: a cache hit hands out the same Secret, and
  // decoding it out of linear memory again on every request would cost more
  // than the hit. Kept no longer than this object (a JS string cannot be
  // wiped either way; the client drops its Secrets at close()).
  #text;

  constructor(token, nativeSecret) {
    if (token !== INTERNAL) {
      throw new TypeError('Secrets come from client.get(), not from new Secret()');
    }
    this.#native = nativeSecret;
  }

  /** The value as text (throws INVALID_RESPONSE for binary values). */
  reveal() {
    if (this.#text === undefined) {
      this.#text = call(() => this.#native.reveal());
    }
    return this.#text;
  }

  /** The value as bytes (a fresh copy). */
  revealBytes() {
    return this.#native.revealBytes();
  }

  get reference() {
    return this.#native.reference;
  }

  get version() {
    return this.#native.version ?? null;
  }

  get fetchedAt() {
    return new Date(this.#native.fetchedAtMillis);
  }

  get lease() {
    return this.#native.lease;
  }

  toString() {
    return this.#native.redacted();
  }

  toJSON() {
    return this.toString();
  }

  [Symbol.toPrimitive]() {
    return this.toString();
  }

  [INSPECT]() {
    return this.toString();
  }

  [DENO_INSPECT]() {
    return this.toString();
  }

  get [Symbol.toStringTag]() {
    return 'Secret';
  }
}

// Bound on the Secrets `get` keeps for reuse (one per reference string).
const MEMO_LIMIT = 4096;

// Calls an event callback; what it throws (or an async callback rejects
// with) is reported, never passed back into the client's operation.
// An identity object's canonical JSON, made once per object: a request
// passes the same object to each of its reads.
const identityTexts = new WeakMap();

function identityJson(identity) {
  let text = identityTexts.get(identity);
  if (text === undefined) {
    text = canonicalJson(identity);
    identityTexts.set(identity, text);
  }
  return text;
}

function canonicalJson(identity) {
  const fields = Object.entries(identity)
    .map(([k, v]) => [k, String(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(Object.fromEntries(fields));
}

/** An audit record as the core writes it, with times as epoch milliseconds. */
function toAuditRecord(text) {
  const r = JSON.parse(text);
  return {
    time: Date.parse(r.time),
    reference: r.reference,
    backend: r.backend,
    outcome: r.outcome,
    count: r.count,
    first: Date.parse(r.first),
    last: Date.parse(r.last),
    version: r.version ?? null,
    leaseId: r.lease_id ?? null,
    error: r.error ?? null,
    identity: r.identity ?? null,
  };
}

function notify(callback, event) {
  try {
    const returned = callback(event);
    if (typeof returned?.then === 'function') {
      returned.then(undefined, reportCallbackError);
    }
  } catch (e) {
    reportCallbackError(e);
  }
}

// The native event object, with its error as a SecretkitError.
function toEvent(event) {
  event.error = event.error === null ? null : convert(event.error);
  return event;
}

function reportCallbackError(e) {
  if (typeof globalThis.reportError === 'function') {
    globalThis.reportError(e); // workerd, Deno, browsers: reports, does not throw
  } else {
    console.error('secretkit: an event callback threw:', e);
  }
}

/** Reads secrets from AWS SSM / Secrets Manager and Vault / OpenBao, with a cache. */
export class Client {
  #native;
  // reference → { slot, serial, secret, promise, generation, until, hits }:
  // the Secret last handed out for that reference (and a promise resolved
  // with it), handed out again without calling into the module while the
  // client's generation is still `generation` and performance.now() is
  // before `until` (the core's window, src/hits.rs); `hits` counts those
  // repeats until they are added to the core's stats.
  #memo = new Map();
  // The core's generation counter: a Uint32Array over linear memory, made on
  // the first window. When the memory grows its old buffer is detached, the
  // view reads undefined, which equals no generation, and is made again.
  #generation = new Uint32Array(0);
  #callbacks = new Set();
  // The access audit trail (src/audit.rs): audited, every read goes to the
  // core with its identity (the core's windows are empty, so the memo
  // repeats nothing); records are taken in backgroundWork() once the
  // interval has passed, and at close().
  #audited = false;
  #onRecords;
  #auditInterval = 1000;
  #lastTake = 0;

  constructor(config = {}) {
    let nativeConfig = config;
    if (config?.audit !== undefined && config.audit !== null) {
      const { audit, ...rest } = config;
      const { onRecords, ...nativeAudit } = audit;
      if (onRecords !== undefined && typeof onRecords !== 'function') {
        throw new TypeError('audit.onRecords must be a function');
      }
      nativeConfig = { ...rest, audit: nativeAudit };
      this.#audited = true;
      this.#onRecords = onRecords;
      this.#auditInterval = (audit.interval ?? 1) * 1000;
    }
    this.#native = call(() => new native.NativeClient(nativeConfig));
  }

  /** Like `new Client(config)`, resolving once the client is ready. */
  static async create(config = {}) {
    const client = new Client(config);
    await settle(client.#native.ready());
    return client;
  }

  /**
   * The secret a reference names; a fresh cache hit is answered without a
   * backend round trip, and inside its window without calling into the
   * module. Reads also run the Vault lease work that is due.
   */
  get(reference, options) {
    const memo = this.#memo.get(reference);
    if (memo !== undefined && memo.generation === this.#generation[0] && performance.now() < memo.until) {
      memo.hits += 1;
      return memo.promise;
    }
    return this.#getPastWindow(reference, memo, options);
  }

  async #getPastWindow(reference, memo, options) {
    const repeated = memo === undefined ? undefined : this.#renew(reference, memo, options);
    if (repeated !== undefined) {
      return repeated;
    }
    const answer = call(() => this.#native.get(reference, this.#who(options)));
    return this.#remember(reference, answer instanceof Promise ? await settle(answer) : answer);
  }

  /** The audit identity of `options.identity` as canonical JSON (audited clients only). */
  #who(options) {
    return this.#audited && options?.identity ? identityJson(options.identity) : undefined;
  }

  /** The core's audit records to `audit.onRecords`, when due (or `now`). */
  #takeAudit(now) {
    if (!now && performance.now() - this.#lastTake < this.#auditInterval) {
      return;
    }
    this.#lastTake = performance.now();
    const records = call(() => this.#native.takeAudit()).map(toAuditRecord);
    if (records.length > 0 && this.#onRecords) {
      notify(this.#onRecords, records);
    }
  }

  /** Hand the audit records held so far to `audit.onRecords` now. */
  flushAudit() {
    if (this.#audited) {
      this.#takeAudit(true);
    }
  }

  /**
   * Reads by backend and outcome, backend read latency, cache size and the
   * time left on each lease, in the Prometheus text exposition format.
   */
  metricsText() {
    this.#recordHits();
    return call(() => this.#native.metricsText());
  }

  /**
   * Past the memo's window: ask the core (which also gets the hits counted
   * here). The generation is read before the call, so a change landing
   * during it sends the next read here again. Returns the Secret to hand
   * out, or undefined when the value must be read.
   */
  #renew(reference, memo, options) {
    if (this.#generation.length === 0) {
      this.#generation = new Uint32Array(native.wasmMemory().buffer, this.#native.generationAddress(), 1);
    }
    const generation = this.#generation[0];
    const now = performance.now();
    let answer;
    try {
      // Audited, the window is always empty: each hit is recorded with `who`.
      answer = call(() => this.#native.window(memo.slot, memo.serial, memo.hits, this.#who(options)));
    } finally {
      memo.hits = 0;
    }
    if (answer === null) {
      return undefined;
    }
    if (typeof answer !== 'number') {
      return this.#remember(reference, answer);
    }
    memo.generation = generation;
    memo.until = now + answer;
    return memo.secret;
  }

  /** Add the hits answered from the memo to the core's stats. */
  #recordHits() {
    for (const memo of this.#memo.values()) {
      if (memo.hits > 0) {
        this.#native.recordHits(memo.slot, memo.hits);
        memo.hits = 0;
      }
    }
  }

  /** Drop the memo and its slots together, its hits counted first. */
  #forget() {
    this.#recordHits();
    this.#memo.clear();
    this.#native.resetSlots();
  }

  /**
   * Database credentials for `role` of Vault's database engine at `mount`,
   * kept valid (renewed, replaced before max_ttl) while the client reads.
   * With `onChange`, it is called with every `rotated` / `changed` event of
   * these credentials until `unwatch()`.
   */
  async databaseCredentials(role, { mount = 'database', onChange } = {}) {
    if (typeof role !== 'string' || typeof mount !== 'string') {
      throw new TypeError('databaseCredentials takes a role name and an optional mount, as strings');
    }
    if (onChange != null && typeof onChange !== 'function') {
      throw new TypeError('onChange must be a function');
    }
    const listener = onChange && ((event) => notify(onChange, toEvent(event)));
    const creds = await settle(this.#native.databaseCredentials(mount, role, listener));
    const { watchId } = creds;
    return {
      username: creds.username,
      password: new Secret(INTERNAL, creds.password),
      lease: creds.lease,
      reference: creds.reference,
      unwatch: watchId === null ? () => {} : () => this.#native.unwatch(watchId),
    };
  }

  /**
   * Call `callback` whenever the secret `reference` names gets a new value
   * (`changed`, or `rotated` for a Vault lease), whatever its `#field`;
   * returns a function that stops watching.
   */
  watch(reference, callback) {
    if (typeof callback !== 'function') {
      throw new TypeError('watch takes a reference and a function');
    }
    const id = call(() => this.#native.watch(reference, (event) => notify(callback, toEvent(event))));
    return () => this.#native.unwatch(id);
  }

  /**
   * Stop the lease work and revoke the Vault leases this client holds
   * (unless `revokeOnClose: false`); resolves to how many were revoked.
   */
  async close() {
    // The memo would keep every Secret (and its value) alive with the client.
    this.#forget();
    const revoked = await settle(this.#native.close());
    this.flushAudit();
    return revoked;
  }

  /** Read from the backend now, whatever the cache holds, and cache the result. */
  async refresh(reference, options) {
    return this.#remember(reference, await settle(this.#native.refresh(reference, this.#who(options))));
  }

  /**
   * Read many references with as few backend calls as the APIs allow. Rejects
   * with the first error, or with `{ settled: true }` puts each error in place.
   */
  async getMany(references, { settled = false, identity } = {}) {
    const iterable = typeof references?.[Symbol.iterator] === 'function' && typeof references !== 'string';
    const list = iterable && !Array.isArray(references) ? Array.from(references) : references;
    const answers = await settle(this.#native.getMany(list, this.#who({ identity }))); // refuses anything but an array
    return answers.map((answer) => {
      if (answer instanceof native.NativeSecret) {
        return new Secret(INTERNAL, answer);
      }
      if (settled) {
        return convert(answer);
      }
      throw convert(answer);
    });
  }

  /** Load every secret under `ssm:/prefix/` or `asm:prefix/` into the cache; resolves to the count. */
  async prefetch(prefix) {
    return settle(this.#native.prefetch(prefix));
  }

  /** Drop the cached value of a reference (any `#field` of it). */
  invalidate(reference) {
    call(() => this.#native.invalidate(reference));
    const memo = this.#memo.get(reference);
    if (memo !== undefined && memo.hits > 0) {
      this.#native.recordHits(memo.slot, memo.hits);
    }
    this.#memo.delete(reference);
  }

  /** Drop every cached value. */
  clear() {
    call(() => this.#native.clear());
    this.#forget();
  }

  /** Counters since the client was built, including hits answered from the memo. */
  stats() {
    this.#recordHits();
    return call(() => this.#native.stats());
  }

  /**
   * Call `callback` with every event ({ kind, reference, oldVersion,
   * newVersion, error, at, leaseId, oldLeaseId, username, oldUsername,
   * ttlSecs }); returns a function that unsubscribes it.
   */
  onEvent(callback) {
    if (typeof callback !== 'function') {
      throw new TypeError('onEvent takes a function');
    }
    const entry = (event) => callback(event); // its own identity: subscribing twice is twice
    this.#callbacks.add(entry);
    if (this.#callbacks.size === 1) {
      const ref = typeof WeakRef === 'function' ? new WeakRef(this) : { deref: () => this };
      this.#native.setEventHandler(Client.#handler(ref));
    }
    return () => {
      if (this.#callbacks.delete(entry) && this.#callbacks.size === 0) {
        this.#native.setEventHandler(null);
      }
    };
  }

  /**
   * Resolves (never rejects) when every background task started so far (refresh
   * ahead, Vault lease renewals and replacements) has finished. On an edge
   * runtime: `ctx.waitUntil(client.backgroundWork())`.
   */
  backgroundWork() {
    const work = this.#native.backgroundWork();
    return this.#audited ? work.then(() => this.#takeAudit(false)) : work;
  }

  // The native side holds the handler, which must not keep an otherwise
  // unused client (and its cache) alive: so a WeakRef, in a closure of its
  // own (closures of one scope share what they capture). workerd has no
  // WeakRef (nor the FinalizationRegistry that frees native objects), so
  // there nothing is collected anyway.
  static #handler(ref) {
    return (events) => ref.deref()?.#dispatch(events);
  }

  #dispatch(events) {
    for (const event of events.map(toEvent)) {
      for (const callback of [...this.#callbacks]) {
        notify(callback, event);
      }
    }
  }

  #remember(reference, nativeSecret) {
    const secret = new Secret(INTERNAL, nativeSecret);
    let memo = this.#memo.get(reference);
    if (memo === undefined) {
      if (this.#memo.size >= MEMO_LIMIT) {
        this.#forget();
      }
      memo = { slot: this.#native.openSlot(reference), serial: 0, secret, promise: null, generation: -1, until: 0, hits: 0 };
      this.#memo.set(reference, memo);
    }
    memo.serial = nativeSecret.serial;
    memo.secret = secret;
    memo.promise = Promise.resolve(secret);
    // No window until the core gives one, on the next read.
    memo.until = 0;
    return secret;
  }

  get [Symbol.toStringTag]() {
    return 'Client';
  }
}

// `await using client = new Client(...)` closes it, where the runtime has it.
if (typeof Symbol.asyncDispose === 'symbol') {
  Client.prototype[Symbol.asyncDispose] = function dispose() {
    return this.close();
  };
}

/** The JSON form of a parsed reference, or throws SecretkitError INVALID_REFERENCE. */
export function parseReference(reference) {
  return call(() => native.parseReference(reference));
}
