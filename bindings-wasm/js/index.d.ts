// Types of the public API (index.mjs and workerd.mjs export the same names).

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
  token: string;
  namespace?: string;
}

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
  /** Bound on each backend request, in seconds (default 10). */
  timeout?: number;
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

export type EventKind = 'created' | 'refreshed' | 'changed' | 'error' | 'evicted';

/** What the cache did. Events carry references and version ids, never values. */
export interface SecretkitEvent {
  kind: EventKind;
  /** The cache key as a reference (`scheme:path[?version=…&stage=…]`, no `#field`). */
  reference: string;
  /** For `changed`: the version replaced. */
  oldVersion: string | null;
  newVersion: string | null;
  /** For `error`: what the read failed with (a stale value may still be served). */
  error: SecretkitError | null;
  at: Date;
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
  get(reference: string): Promise<Secret>;
  /** Read from the backend now, whatever the cache holds, and cache the result. */
  refresh(reference: string): Promise<Secret>;
  /**
   * Many references with as few calls as the APIs allow (SSM: 10 names a call,
   * Secrets Manager: 20). Rejects with the first error, in the order given.
   */
  getMany(references: Iterable<string>, options?: { settled?: false }): Promise<Secret[]>;
  /** With `settled: true`, each failed reference has its SecretkitError in place. */
  getMany(
    references: Iterable<string>,
    options: { settled: true },
  ): Promise<Array<Secret | SecretkitError>>;
  getMany(
    references: Iterable<string>,
    options?: { settled?: boolean },
  ): Promise<Array<Secret | SecretkitError>>;
  /** Load every secret under `ssm:/prefix/` or `asm:prefix/` into the cache; resolves to the count. */
  prefetch(prefix: string): Promise<number>;
  invalidate(reference: string): void;
  clear(): void;
  stats(): Stats;
  /**
   * Calls `callback` for every event, after the operation or background task
   * that caused it; returns the function that unsubscribes. What a callback
   * throws is reported (`reportError` or console.error), never thrown into the client.
   */
  onEvent(callback: (event: SecretkitEvent) => void): () => void;
  /**
   * Resolves, never rejects, once every background task started so far
   * (refresh ahead) has finished and its events were delivered. On an edge
   * runtime, which stops a request's work once it has answered, call
   * `ctx.waitUntil(client.backgroundWork())` after your reads, or the
   * refresh ahead never completes.
   */
  backgroundWork(): Promise<void>;
}

export function parseReference(reference: string): ParsedReference;
