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

  constructor(token, nativeSecret) {
    if (token !== INTERNAL) {
      throw new TypeError('Secrets come from client.get(), not from new Secret()');
    }
    this.#native = nativeSecret;
  }

  /** The value as text (throws INVALID_RESPONSE for binary values). */
  reveal() {
    return call(() => this.#native.reveal());
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

/** Reads secrets from AWS SSM / Secrets Manager and Vault / OpenBao, with a cache. */
export class Client {
  #native;

  constructor(config = {}) {
    this.#native = call(() => new native.NativeClient(config));
  }

  /** Like `new Client(config)`, resolving once the client is ready. */
  static async create(config = {}) {
    const client = new Client(config);
    await settle(client.#native.ready());
    return client;
  }

  /** The secret a reference names; a fresh cache hit is answered without a backend round trip. */
  async get(reference) {
    const hit = call(() => this.#native.getCached(reference));
    if (hit !== undefined) {
      return new Secret(INTERNAL, hit);
    }
    return new Secret(INTERNAL, await settle(this.#native.get(reference)));
  }

  /** Drop the cached value of a reference (any `#field` of it). */
  invalidate(reference) {
    call(() => this.#native.invalidate(reference));
  }

  /** Drop every cached value. */
  clear() {
    call(() => this.#native.clear());
  }

  get [Symbol.toStringTag]() {
    return 'Client';
  }
}

/** The JSON form of a parsed reference, or throws SecretkitError INVALID_REFERENCE. */
export function parseReference(reference) {
  return call(() => native.parseReference(reference));
}
