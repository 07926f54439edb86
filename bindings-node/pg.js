'use strict'
// secretkit/pg: a node-postgres pool whose new connections log in with the
// current username and password of a secretkit source (Vault dynamic database
// credentials, a username + password pair of references, or a fixed user with
// a password reference), following rotations without failing a query.
//
// Design: one pg.Pool per credential generation. A new generation (a Vault
// `rotated` event, a `changed` version, or a refresh after the database
// refused a login) gets a new pg.Pool, and new work goes there at once; the
// old pool is drained (its waiting requests are served by its own clients)
// and then ended, which closes idle clients now and checked-out clients when
// they are released, so an in-flight query or transaction is never cut.
//
// Why not one pool with a per-connection user? pg 8 takes `password` as an
// (async) function per connection, but `user` is read when the Client is
// constructed and sent in the startup message before the password function
// runs. A pg.Client subclass could set the user in connect(), but the pool
// would still hand out idle clients of the old user after a rotation, and
// retiring those needs pg-pool internals (_idle, _expired). After a Vault
// rotation the old role is dropped when its lease runs out, and a session of
// a dropped role loses its privileges (queries fail with 42501), so old
// connections must be retired promptly. pg.Pool's public end() does exactly
// that for a whole pool, hence one pool per generation.
//
// `pg` is an optional peer dependency: it is required lazily (when a pool is
// created) from the application's node_modules, or the application passes its
// own Pool class (`options.Pool`: pg.Pool, pg.native.Pool, an instrumented one).

const { EventEmitter } = require('node:events')
const { parseReference } = require('./index.js')

/** SQLSTATEs of a refused login: invalid_password, invalid_authorization_specification. */
const AUTH_FAILED = new Set(['28P01', '28000'])

/**
 * After a refused login the source is read again at once. While it keeps
 * giving the refused credentials (mid single-user rotation, between
 * setSecret and finishSecret; or a database that refuses them for good) it
 * is read again after 1 s, 2 s, 4 s ... at most every 30 s: a rotation's
 * window is recovered from soon after it ends, and a lasting refusal costs
 * a read (for Vault, a new lease) per 30 s at most.
 */
const RECOVER_FIRST_MS = 1_000
const RECOVER_MAX_MS = 30_000

/** The pool events passed on from each generation's pg.Pool. */
const POOL_EVENTS = ['connect', 'acquire', 'release', 'remove']

const CREDENTIAL_KEYS = {
  vault: ['vaultRole', 'mount'],
  references: ['username', 'password'],
  fixedUser: ['user', 'password'],
}

const ENDED = 'Cannot use a pool after calling end on the pool'

const INTERNAL = Symbol('secretkit/pg')

/**
 * A pool whose new connections use the current credentials of
 * `options.credentials`; the rest of `options` is pg.Pool's config (host,
 * port, database, max, ssl, ...), without user and password. Resolves once
 * the first credentials are read (a bad reference or an unreachable backend
 * rejects here, not at the first query). Defined in SecretPool's static block.
 */
let createPool

const isAuthFailure = (err) => err != null && AUTH_FAILED.has(err.code)

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function loadPool(Pool) {
  if (Pool !== undefined) {
    if (typeof Pool !== 'function') throw new TypeError('createPool: options.Pool must be a Pool class such as pg.Pool')
    return Pool
  }
  try {
    return require('pg').Pool
  } catch (err) {
    if (err && err.code === 'MODULE_NOT_FOUND' && /['"]pg['"]/.test(err.message)) {
      throw new Error("secretkit/pg needs node-postgres: `npm install pg` (or pass options.Pool)", { cause: err })
    }
    throw err
  }
}

function checkString(value, what) {
  if (typeof value !== 'string' || value === '') throw new TypeError(`createPool: ${what} must be a non-empty string`)
}

/** The cache key of a reference (what `#field` and `?ttl=` do not change). */
function keyOf(reference) {
  const { scheme, path, version, stage } = parseReference(reference)
  return JSON.stringify([scheme, path, version, stage])
}

/** Vault's database engine: `client.databaseCredentials(role, { mount })`. */
class VaultSource {
  constructor(client, role, mount = 'database') {
    checkString(role, 'credentials.vaultRole')
    checkString(mount, 'credentials.mount')
    this.client = client
    this.role = role
    this.mount = mount
    this.reference = `vault:${mount}/creds/${role}`
  }

  async read() {
    const creds = await this.client.databaseCredentials(this.role, { mount: this.mount })
    return { username: creds.username, password: creds.password }
  }

  async refresh() {
    await this.client.refresh(this.reference)
  }

  watch(callback) {
    return [this.client.watch(this.reference, callback)]
  }

  /** Whether an event's reference (a cache key) is this source's. */
  owns(key) {
    return key === this.reference
  }
}

/** A password reference, with a username reference or a fixed user. */
class ReferenceSource {
  constructor(client, { username, user, password }) {
    checkString(password, 'credentials.password')
    if (username !== undefined) checkString(username, 'credentials.username')
    else checkString(user, 'credentials.user')
    this.client = client
    this.username = username
    this.user = user
    this.password = password
    // Parsed now, so a malformed reference fails createPool (INVALID_REFERENCE).
    this.references = [password]
    if (username !== undefined && keyOf(username) !== keyOf(password)) this.references.push(username)
  }

  async read() {
    if (this.username === undefined) return { username: this.user, password: await this.client.get(this.password) }
    // Both fields of one secret come from one cache entry; a refresh landing
    // between the two reads would pair an old username with a new password.
    for (let tries = 0; ; tries++) {
      const [username, password] = await Promise.all([this.client.get(this.username), this.client.get(this.password)])
      if (this.references.length > 1 || sameRead(username, password) || tries === 2) {
        return { username: username.reveal(), password }
      }
    }
  }

  async refresh() {
    await Promise.all(this.references.map((reference) => this.client.refresh(reference)))
  }

  watch(callback) {
    return this.references.map((reference) => this.client.watch(reference, callback))
  }

  /** Whether an event's reference (a cache key: no #field, maybe ?version=/&stage=) is one of this source's. */
  owns(key) {
    return this.references.some((reference) => {
      const { scheme, path } = parseReference(reference)
      return key.split('?')[0] === `${scheme}:${path}`
    })
  }
}

function sameRead(a, b) {
  return a.version === b.version && a.lease?.id === b.lease?.id && a.fetchedAt.getTime() === b.fetchedAt.getTime()
}

function sourceFor(client, credentials) {
  if (credentials === null || typeof credentials !== 'object') {
    throw new TypeError('createPool: options.credentials is required: { vaultRole }, { username, password } or { user, password }')
  }
  const keys = Object.keys(credentials).filter((k) => credentials[k] !== undefined)
  const kind = Object.entries(CREDENTIAL_KEYS).find(
    ([, allowed]) => keys.every((k) => allowed.includes(k)) && keys.includes(allowed[0]),
  )?.[0]
  if (kind === 'vault') return new VaultSource(client, credentials.vaultRole, credentials.mount)
  if (kind === 'references' || kind === 'fixedUser') return new ReferenceSource(client, credentials)
  throw new TypeError(
    `createPool: credentials takes { vaultRole, mount? }, { username, password } (references) or ` +
      `{ user, password } (a user and a password reference); got keys ${keys.join(', ') || 'none'}`,
  )
}

function checkPoolConfig(config) {
  for (const key of ['user', 'password']) {
    if (key in config) throw new TypeError(`createPool: the ${key} comes from options.credentials, not options.${key}`)
  }
  if (typeof config.connectionString === 'string') {
    let url = null
    try {
      url = new URL(config.connectionString)
    } catch {
      // not a URL (e.g. a keyword string): pg parses it; nothing to check here
    }
    if (url && (url.username || url.password)) {
      throw new TypeError('createPool: options.connectionString must not carry a user or password (pg would prefer them)')
    }
  }
}

/** Settles `callback(err, value, ...extra(value))` from a promise, when a callback is given. */
function settle(promise, callback, extra = () => []) {
  if (typeof callback !== 'function') return promise
  promise.then(
    (value) => callback(undefined, value, ...extra(value)),
    (err) => callback(err),
  )
  return undefined
}

class SecretPool extends EventEmitter {
  #client
  #source
  #config
  #Pool
  /** The generation new work goes to: { username, password, pool, recovery, recoveredAt, quietMs }. */
  #current = null
  /** pg.Pools of older generations that are draining or ending. */
  #retiring = new Set()
  /** Each pool's end, awaited by end(). */
  #ends = new Set()
  #unwatch = []
  /** Updates run one after another; `#queued` is the one not started yet, which callers share. */
  #chain = Promise.resolve()
  #queued = null
  #ending = null
  #ended = false

  static {
    createPool = async (client, options) => {
      const pool = new SecretPool(INTERNAL, client, options)
      await pool.#start()
      return pool
    }
  }

  /** @internal Use createPool(). */
  constructor(token, client, options) {
    super()
    if (token !== INTERNAL) throw new TypeError('use createPool(client, options)')
    if (client === null || typeof client !== 'object' || typeof client.watch !== 'function') {
      throw new TypeError('createPool: the first argument must be a secretkit Client')
    }
    if (options === null || typeof options !== 'object') throw new TypeError('createPool: options are required')
    const { credentials, Pool, ...config } = options
    checkPoolConfig(config)
    this.#client = client
    this.#source = sourceFor(client, credentials)
    this.#Pool = loadPool(Pool)
    this.#config = config
  }

  async #start() {
    const update = () => this.#update().catch((err) => this.#report(err))
    // Watch first, then read: a change between the two is then not missed.
    this.#unwatch = this.#source.watch(update)
    // A lease that ran out before it could be replaced (e.g. Vault was
    // unreachable) comes as 'expired', not 'rotated': its role is dropped, so
    // idle connections of it fail (42501, not a login error). Read the new
    // credentials at once instead of waiting for a refused login.
    const onExpired = (event) => {
      if (this.#source.owns(event.reference)) update()
    }
    this.#client.on('expired', onExpired)
    this.#unwatch.push(() => this.#client.off('expired', onExpired))
    try {
      await this.#update()
    } catch (err) {
      this.#stopWatching()
      throw err
    }
  }

  /** Read the source and, when it gives other credentials, switch to a new pool. */
  #update() {
    if (this.#queued === null) {
      const run = this.#chain.then(() => {
        this.#queued = null
        return this.#apply()
      })
      this.#queued = run
      this.#chain = run.catch(() => {})
    }
    return this.#queued
  }

  async #apply() {
    const { username, password } = await this.#source.read()
    if (this.#ending) return
    const old = this.#current
    if (old !== null && old.username === username && old.password.reveal() === password.reveal()) return
    const pool = new this.#Pool({
      ...this.#config,
      user: username,
      // Called by pg for each new connection of this pool: the plain value
      // only exists while a connection logs in (and in pg's Client after).
      password: () => password.reveal(),
    })
    for (const name of POOL_EVENTS) pool.on(name, (...args) => this.emit(name, ...args))
    pool.on('error', (err, client) => this.#report(err, client))
    this.#current = { username, password, pool, recovery: null, recoveredAt: -Infinity, quietMs: 0 }
    if (old !== null) {
      this.emit('credentials', { username, oldUsername: old.username })
      this.#retire(old)
    }
  }

  /**
   * End a pool once nobody waits on it: pg-pool's end() never serves requests
   * still queued for a client, so those are let through first (by the pool's
   * own clients, as they are released).
   */
  #retire({ username, pool }) {
    this.#retiring.add(pool)
    const ended = (async () => {
      while (pool.waitingCount > 0) await sleep(10)
      await pool.end()
    })()
      .then(
        () => this.emit('drained', { username }),
        (err) => this.#report(err),
      )
      .finally(() => {
        this.#retiring.delete(pool)
        this.#ends.delete(ended)
      })
    this.#ends.add(ended)
  }

  /** Run `attempt(pool)`; after a refused login, read the source again (once) and retry once. */
  async #withRetry(attempt) {
    if (this.#ending) throw new Error(ENDED)
    const generation = this.#current
    try {
      return await attempt(generation.pool)
    } catch (err) {
      if (!isAuthFailure(err) || this.#ending) throw err
      try {
        await this.#recover(generation)
      } catch (refreshError) {
        this.#report(refreshError)
        throw err
      }
      if (this.#ending) throw err
      return attempt(this.#current.pool)
    }
  }

  /**
   * The database refused a login with this generation's credentials (revoked
   * lease, rotated password): read the source from the backend, once for all
   * the connections that failed together, then switch pools if it changed.
   */
  #recover(generation) {
    if (generation !== this.#current) return Promise.resolve() // already replaced
    if (generation.recovery !== null) return generation.recovery
    if (performance.now() - generation.recoveredAt < generation.quietMs) return Promise.resolve()
    generation.recovery = (async () => {
      try {
        await this.#source.refresh()
        await this.#update()
      } finally {
        // Still this generation next time: the source gave the same credentials.
        generation.recoveredAt = performance.now()
        generation.quietMs = Math.min(Math.max(generation.quietMs * 2, RECOVER_FIRST_MS), RECOVER_MAX_MS)
        generation.recovery = null
      }
    })()
    return generation.recovery
  }

  /** pg's 'error' (an idle client failed) and failed background updates; a warning when nobody listens. */
  #report(err, client) {
    if (this.listenerCount('error') > 0) this.emit('error', err, client)
    else process.emitWarning(`secretkit/pg: ${err && err.message}`, { code: 'SECRETKIT_PG' })
  }

  #stopWatching() {
    for (const unwatch of this.#unwatch) unwatch()
    this.#unwatch = []
  }

  /** pool.query(text | config, values?, callback?), through the current generation's pool. */
  query(text, values, callback) {
    if (typeof values === 'function') {
      callback = values
      values = undefined
    }
    return settle(
      this.#withRetry((pool) => pool.query(text, values)),
      callback,
    )
  }

  /** A client of the current generation's pool; `client.release()` returns it (to that pool). */
  connect(callback) {
    return settle(
      this.#withRetry((pool) => pool.connect()),
      callback,
      (client) => [client.release],
    )
  }

  /**
   * Stops following the source and ends every pool: idle clients now,
   * checked-out ones when released. Call it after server.close() (no new
   * requests) and before client.close() (which revokes Vault leases).
   */
  end(callback) {
    if (this.#ending === null) {
      this.#ending = (async () => {
        this.#stopWatching()
        await this.#chain
        if (this.#current !== null) this.#retire(this.#current)
        while (this.#ends.size > 0) await Promise.all([...this.#ends])
        this.#ended = true
      })()
    }
    return settle(this.#ending, callback)
  }

  /** The user new connections log in as (not secret). */
  get username() {
    return this.#current.username
  }

  get ending() {
    return this.#ending !== null
  }

  get ended() {
    return this.#ended
  }

  #pools() {
    const pools = [...this.#retiring]
    if (this.#current !== null && !this.#retiring.has(this.#current.pool)) pools.push(this.#current.pool)
    return pools
  }

  /** Clients of every generation still open. */
  get totalCount() {
    return this.#pools().reduce((n, pool) => n + pool.totalCount, 0)
  }

  get idleCount() {
    return this.#pools().reduce((n, pool) => n + pool.idleCount, 0)
  }

  get waitingCount() {
    return this.#pools().reduce((n, pool) => n + pool.waitingCount, 0)
  }
}

module.exports = { createPool, SecretPool, isAuthFailure }
