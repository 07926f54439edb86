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

export class Client {
  constructor(config?: ClientConfig);
  static create(config?: ClientConfig): Promise<Client>;
  get(reference: string): Promise<Secret>;
  invalidate(reference: string): void;
  clear(): void;
}

export function parseReference(reference: string): ParsedReference;
