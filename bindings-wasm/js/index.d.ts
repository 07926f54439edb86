// Types of the public API (index.mjs and workerd.mjs export the same names).

// `Client[Symbol.asyncDispose]` needs `Symbol.asyncDispose` in the global
// types: TypeScript >= 5.2 has it with lib `esnext.disposable`, @types/node
// declares it too. Declared here as well (as @types/node does), so the file
// compiles for a project whose lib stops at es2022 (test/types checks both).
declare global {
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}

export interface AwsConfig {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Custom endpoint, e.g. a local moto server or a VPC endpoint. */
  endpoint?: string;
}

export interface VaultConfig {
  /** e.g. `https://vault.internal:8200` */
  address: string;
  /** Required unless `auth` logs in. */
  token?: string;
  namespace?: string;
  /**
   * Log in instead of using a fixed token (and again whenever the token can
   * no longer be renewed). Inline values only: the edge has no files, so
   * `roleIdFile`, `secretIdFile`, `jwtFile` and method `token_file` are
   * refused with a CONFIG error.
   */
  auth?: VaultAuthConfig;
}

export type VaultAuthConfig =
  | { method: 'approle'; roleId: string; secretId: string; /** default `approle` */ mount?: string }
  | { method: 'kubernetes'; role: string; /** the service-account token */ jwt: string; /** default `kubernetes` */ mount?: string }
  | { method: 'jwt'; role: string; jwt: string; /** default `jwt` */ mount?: string };

export interface ClientConfig {
  aws?: AwsConfig;
  vault?: VaultConfig;
  /** Cache TTL in seconds (default 300); `?ttl=` in a reference overrides it. */
  defaultTtl?: number;
  /** Each entry's TTL moves by up to ± this fraction, 0 to 1 (default 0.1). */
  ttlJitter?: number;
  /**
   * A read after this fraction of the TTL (0 to 1) refreshes the value in the
   * background while readers keep the cached one (default 0.75; 1 = off).
   */
  refreshAhead?: number;
  /** After a failed refresh, an expired value is still served this many seconds (default 3600; 0 = off). */
  maxStale?: number;
  /** Seconds a not-found answer is remembered (default 30). */
  negativeTtl?: number;
  /** First retry delay in seconds after a failed refresh; doubles per failure (default 1). */
  retryBase?: number;
  /** Longest retry delay in seconds (default 60). */
  retryMax?: number;
  /** Most cache entries kept (default 1024). */
  maxEntries?: number;
  /** Bound on each read in seconds, retries included (default 10). */
  timeout?: number;
  /** `close()` revokes the Vault leases this client holds (default true). */
  revokeOnClose?: boolean;
  /**
   * Revoke a replaced lease this many seconds after its replacement was read;
   * `null` (the default) lets it run out by itself, so connections opened
   * with the old credentials keep working.
   */
  revokeReplacedAfter?: number | null;
  /** Plain http to hosts that are not loopback (default false). */
  allowHttp?: boolean;
  /**
   * `env:` and `file:` references (default true); turn off when references
   * come from input the application does not control.
   */
  allowLocal?: boolean;
  /**
   * Tries per read, the first included, when the backend fails transiently
   * and nothing cached can answer (1 to 10, default 3), all within `timeout`.
   */
  readAttempts?: number;
  /**
   * Read `ssm:`, `asm:` and `vault:` references through a `secretkit agent`
   * (a sidecar) instead of the backends: its http address and token. The
   * agent holds the credentials and the leases; this client keeps its own
   * cache in front.
   */
  agent?: { address: string; token: string };
  /**
   * The access audit trail: off when absent. Reads are attributed to the
   * `identity` passed in their options; every read of an audited client goes
   * to the core (nothing is memoized).
   */
  audit?: AuditConfig;
}

export interface AuditConfig {
  /** Records are taken in `backgroundWork()` at most this often (seconds, default 1), and at `close()`. */
  interval?: number;
  /** Called with each batch of records. */
  onRecords?: (records: AuditRecord[]) => void;
}

/** One access (hits: `count` accesses between `first` and `last`), never a value. Times in ms since the epoch. */
export interface AuditRecord {
  time: number;
  reference: string;
  backend: string;
  outcome: 'hit' | 'miss' | 'stale' | 'error' | 'denied' | 'refresh' | 'renewed' | 'rotated' | 'expired';
  count: number;
  first: number;
  last: number;
  version: string | null;
  leaseId: string | null;
  error: string | null;
  identity: Record<string, string> | null;
}

/** Who reads, for the audit trail of an audited client. */
export interface ReadOptions {
  identity?: Record<string, string | number>;
}

export interface Lease {
  id: string;
  /** Seconds, as the server granted it. */
  duration: number;
  renewable: boolean;
}

export interface ParsedReference {
  scheme: 'ssm' | 'asm' | 'vault' | 'env' | 'file';
  path: string;
  version: string | null;
  stage: string | null;
  ttl_ms: number | null;
  field: string | null;
}

export type ErrorCode =
  | 'NOT_FOUND'
  | 'ACCESS_DENIED'
  | 'THROTTLED'
  | 'UNAVAILABLE'
  | 'TIMEOUT'
  | 'INVALID_REFERENCE'
  | 'INVALID_RESPONSE'
  | 'AUTH'
  | 'LEASE_EXPIRED'
  | 'CONFIG';

export class SecretkitError extends Error {
  readonly name: 'SecretkitError';
  readonly code: ErrorCode;
  /** snake_case form of `code`, e.g. `not_found`. */
  readonly kind: string;
  readonly reference: string | null;
}

/** Redacted in every formatting path: `Secret(<ref>, <redacted>)`. */
export class Secret {
  private constructor();
  /** The value as text; throws INVALID_RESPONSE for binary values. */
  reveal(): string;
  revealBytes(): Uint8Array;
  readonly reference: string;
  readonly version: string | null;
  readonly fetchedAt: Date;
  readonly lease: Lease | null;
  toString(): string;
  toJSON(): string;
}

export type EventKind =
  | 'created'
  | 'refreshed'
  | 'changed'
  | 'error'
  | 'evicted'
  /** A Vault lease (or, with reference `vault:auth/token/self`, the client's token) was renewed. */
  | 'renewed'
  /** A leased secret was replaced before its lease ran out (max_ttl near, revoked, new login). */
  | 'rotated'
  /** A lease ran out before it could be renewed or replaced; the entry left the cache. */
  | 'expired';

/**
 * What the cache and the lease lifecycle did. Events carry references,
 * version and lease ids and usernames, never values or passwords.
 */
export interface SecretkitEvent {
  kind: EventKind;
  /** The cache key as a reference (`scheme:path[?version=…&stage=…]`, no `#field`). */
  reference: string;
  /** For `changed`: the version replaced. */
  oldVersion: string | null;
  newVersion: string | null;
  /** For `error`: what the read or renewal failed with (a stale value may still be served). */
  error: SecretkitError | null;
  at: Date;
  /** For lease events: the lease now in force. */
  leaseId: string | null;
  /** For `rotated`: the lease replaced. */
  oldLeaseId: string | null;
  /** For lease events of credentials with a `username` field: the (new) username. */
  username: string | null;
  /** For `rotated`: the username replaced. */
  oldUsername: string | null;
  /** For `renewed`: the lease's new duration in seconds. */
  ttlSecs: number | null;
}

/** What `databaseCredentials` resolves to. */
export interface DatabaseCredentials {
  /** Not secret: it shows in logs and `pg_stat_activity`. */
  username: string;
  password: Secret;
  lease: Lease | null;
  /** `vault:<mount>/creds/<role>`, for `watch`. */
  reference: string;
  /** Stops the `onChange` callback (does nothing without one). */
  unwatch(): void;
}

export interface Stats {
  /** Reads answered from a fresh cache entry. */
  hits: number;
  /** Reads that had to wait for the backend. */
  misses: number;
  /** Background refreshes started before expiry, or retries of a stale entry. */
  refreshes: number;
  /** Reads answered with an expired value because the backend failed. */
  staleServes: number;
  /** Backend reads that failed. */
  errors: number;
  /** Calls made to each backend (a batch call counts once). */
  backendCalls: { ssm: number; asm: number; vault: number; env: number; file: number };
}

export class Client {
  constructor(config?: ClientConfig);
  static create(config?: ClientConfig): Promise<Client>;
  get(reference: string, options?: ReadOptions): Promise<Secret>;
  /** Read from the backend now, whatever the cache holds, and cache the result. */
  refresh(reference: string, options?: ReadOptions): Promise<Secret>;
  /**
   * Many references with as few calls as the APIs allow (SSM: 10 names a call,
   * Secrets Manager: 20). Rejects with the first error, in the order given.
   */
  getMany(references: Iterable<string>, options?: { settled?: false } & ReadOptions): Promise<Secret[]>;
  /** With `settled: true`, each failed reference has its SecretkitError in place. */
  getMany(
    references: Iterable<string>,
    options: { settled: true } & ReadOptions,
  ): Promise<Array<Secret | SecretkitError>>;
  getMany(
    references: Iterable<string>,
    options?: { settled?: boolean } & ReadOptions,
  ): Promise<Array<Secret | SecretkitError>>;
  /** Load every secret under `ssm:/prefix/` or `asm:prefix/` into the cache; resolves to the count. */
  prefetch(prefix: string): Promise<number>;
  invalidate(reference: string): void;
  clear(): void;
  stats(): Stats;
  /** Reads by backend and outcome, backend read latency, cache size and lease TTLs (Prometheus text format). */
  metricsText(): string;
  /** Hand the audit records held so far to `audit.onRecords` now. */
  flushAudit(): void;
  /**
   * Calls `callback` for every event, after the operation or background task
   * that caused it; returns the function that unsubscribes. What a callback
   * throws is reported (`reportError` or console.error), never thrown into the client.
   */
  onEvent(callback: (event: SecretkitEvent) => void): () => void;
  /**
   * Calls `callback` whenever the secret `reference` names gets a new value
   * (`changed`, or `rotated` for a Vault lease), whatever its `#field`;
   * returns the function that stops watching.
   */
  watch(reference: string, callback: (event: SecretkitEvent) => void): () => void;
  /**
   * Credentials for `role` of Vault's database engine (mount `database` by
   * default), renewed and replaced before max_ttl as long as the client keeps
   * reading (`get` runs the lease work that is due; on the edge also hand
   * `backgroundWork()` to `ctx.waitUntil`). `onChange` hears every rotation.
   */
  databaseCredentials(
    role: string,
    options?: { mount?: string; onChange?: (event: SecretkitEvent) => void },
  ): Promise<DatabaseCredentials>;
  /**
   * Stops the lease work and revokes the Vault leases this client holds
   * (unless `revokeOnClose: false`); resolves to how many were revoked.
   * Also `await using client = ...` where the runtime has `Symbol.asyncDispose`.
   */
  close(): Promise<number>;
  /**
   * `close()`, for `await using client = new Client(...)`; present where the
   * runtime defines `Symbol.asyncDispose`.
   */
  [Symbol.asyncDispose](): Promise<void>;
  /**
   * Resolves, never rejects, once every background task started so far
   * (refresh ahead, Vault lease renewals and replacements) has finished and
   * its events were delivered. On an edge runtime, which stops a request's
   * work once it has answered, call `ctx.waitUntil(client.backgroundWork())`
   * after your reads, or the refresh ahead and lease work never complete.
   */
  backgroundWork(): Promise<void>;
}

export function parseReference(reference: string): ParsedReference;
