// Types of secretkit/pg (pg.js / pg.mjs). They build on node-postgres's own
// types: install @types/pg next to pg (both optional peers of secretkit).
import { EventEmitter } from 'node:events'
import type {
  Pool,
  PoolClient,
  PoolConfig,
  QueryArrayConfig,
  QueryArrayResult,
  QueryConfig,
  QueryConfigValues,
  QueryResult,
  QueryResultRow,
} from 'pg'
import type { Client } from './index.js'

/** Vault's database engine: `client.databaseCredentials(vaultRole, { mount })`, renewed and rotated. */
export interface VaultCredentials {
  vaultRole: string
  /** Mount of the database engine. Default 'database'. */
  mount?: string
  username?: never
  user?: never
  password?: never
}

/** A username and a password reference, e.g. the `#username` and `#password` of one Secrets Manager secret. */
export interface ReferenceCredentials {
  /** A reference, e.g. 'asm:prod/myapp/db-credentials#username'. */
  username: string
  /** A reference, e.g. 'asm:prod/myapp/db-credentials#password'. */
  password: string
  vaultRole?: never
  mount?: never
  user?: never
}

/** A fixed user with a password reference. */
export interface FixedUserCredentials {
  /** The database user itself (not a reference). */
  user: string
  /** A reference, e.g. 'ssm:/prod/myapp/db-password'. */
  password: string
  vaultRole?: never
  mount?: never
  username?: never
}

export type PgCredentials = VaultCredentials | ReferenceCredentials | FixedUserCredentials

/** pg.Pool's config without user and password (they come from `credentials`), plus: */
export interface SecretPoolOptions extends Omit<PoolConfig, 'user' | 'password'> {
  credentials: PgCredentials
  /** The Pool class to build each generation's pool with. Default: `require('pg').Pool`. */
  Pool?: new (config?: PoolConfig) => Pool
  user?: never
  password?: never
}

/** A new generation of credentials took over: new connections log in as `username`. */
export interface CredentialsEvent {
  username: string
  oldUsername: string
}

/** The pool of an older generation has ended: none of its connections remain. */
export interface DrainedEvent {
  username: string
}

/**
 * A pg.Pool look-alike: one pg.Pool per credential generation. New work goes
 * to the current generation; older pools end once their checked-out clients
 * are released. Emits pg.Pool's 'connect', 'acquire', 'release', 'remove' and
 * 'error' (from every generation's pool; without an 'error' listener, a
 * process warning instead), plus 'credentials' and 'drained'.
 */
export declare class SecretPool extends EventEmitter {
  private constructor()
  /** The user new connections log in as (not secret). */
  readonly username: string
  readonly totalCount: number
  readonly idleCount: number
  readonly waitingCount: number
  readonly ending: boolean
  readonly ended: boolean

  query<R extends any[] = any[], I = any[]>(
    queryConfig: QueryArrayConfig<I>,
    values?: QueryConfigValues<I>,
  ): Promise<QueryArrayResult<R>>
  query<R extends QueryResultRow = any, I = any[]>(queryConfig: QueryConfig<I>): Promise<QueryResult<R>>
  query<R extends QueryResultRow = any, I = any[]>(
    queryTextOrConfig: string | QueryConfig<I>,
    values?: QueryConfigValues<I>,
  ): Promise<QueryResult<R>>
  query<R extends QueryResultRow = any, I = any[]>(
    queryTextOrConfig: string | QueryConfig<I>,
    callback: (err: Error | undefined, result: QueryResult<R>) => void,
  ): void
  query<R extends QueryResultRow = any, I = any[]>(
    queryText: string,
    values: QueryConfigValues<I>,
    callback: (err: Error | undefined, result: QueryResult<R>) => void,
  ): void

  /** A client of the current generation; `client.release()` gives it back to its own pool. */
  connect(): Promise<PoolClient>
  connect(callback: (err: Error | undefined, client: PoolClient | undefined, release: (err?: Error | boolean) => void) => void): void

  /** Stops following the credentials and ends every pool (checked-out clients when released).
   * Order at shutdown: server.close(), then pool.end(), then client.close(). */
  end(): Promise<void>
  end(callback: (err?: Error) => void): void

  on(event: 'credentials', listener: (event: CredentialsEvent) => void): this
  on(event: 'drained', listener: (event: DrainedEvent) => void): this
  on(event: 'error', listener: (err: Error, client: PoolClient | undefined) => void): this
  on(event: 'release', listener: (err: Error | undefined, client: PoolClient) => void): this
  on(event: 'connect' | 'acquire' | 'remove', listener: (client: PoolClient) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once(event: 'credentials', listener: (event: CredentialsEvent) => void): this
  once(event: 'drained', listener: (event: DrainedEvent) => void): this
  once(event: 'error', listener: (err: Error, client: PoolClient | undefined) => void): this
  once(event: 'release', listener: (err: Error | undefined, client: PoolClient) => void): this
  once(event: 'connect' | 'acquire' | 'remove', listener: (client: PoolClient) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
}

/**
 * A pool whose new connections log in with the current credentials of
 * `options.credentials`, following rotations and changes. Resolves once the
 * first credentials are read. After a refused login (SQLSTATE 28P01 / 28000)
 * it reads the credentials from the backend and retries once.
 */
export declare function createPool(client: Client, options: SecretPoolOptions): Promise<SecretPool>

/** Whether a pg error is a refused login (SQLSTATE 28P01 or 28000). */
export declare function isAuthFailure(err: unknown): boolean
