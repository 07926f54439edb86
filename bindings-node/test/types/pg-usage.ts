// Compiled with `tsc --noEmit` only: checks pg.d.ts (secretkit/pg) describes a real use.
import pg from 'pg'
import type { PoolClient, QueryResult } from 'pg'
import { Client } from 'secretkit'
import { createPool, isAuthFailure, SecretPool, type CredentialsEvent, type PgCredentials } from 'secretkit/pg'

interface Item {
  id: number
  name: string
}

async function main(): Promise<void> {
  const client = Client.fromEnv()
  const pool: SecretPool = await createPool(client, {
    credentials: { vaultRole: 'myapp-readonly', mount: 'database' },
    host: '127.0.0.1',
    port: 5432,
    database: 'myapp',
    max: 10,
    idleTimeoutMillis: 30_000,
    Pool: pg.Pool,
  })
  const fromAsm: PgCredentials = {
    username: 'asm:prod/myapp/db-credentials#username',
    password: 'asm:prod/myapp/db-credentials#password',
  }
  const asmPool = await createPool(client, { credentials: fromAsm, connectionString: 'postgresql://db.internal/myapp' })
  const fixed = await createPool(client, { credentials: { user: 'app_user', password: 'ssm:/prod/myapp/db-password' } })

  // @ts-expect-error: the user comes from credentials
  await createPool(client, { credentials: fromAsm, user: 'someone' })
  // @ts-expect-error: a Vault role or references, not both
  await createPool(client, { credentials: { vaultRole: 'r', password: 'ssm:/p' } })
  // @ts-expect-error: credentials are required
  await createPool(client, { host: 'db' })

  pool.on('credentials', (e: CredentialsEvent) => console.log(e.oldUsername, '->', e.username))
  pool.on('drained', (e) => console.log(e.username))
  pool.on('error', (err, pgClient) => console.log(err.message, pgClient?.user))
  pool.on('connect', (pgClient: PoolClient) => console.log(pgClient.user))

  const result: QueryResult<Item> = await pool.query<Item>('select id, name from items where id = $1', [1])
  const name: string | undefined = result.rows[0]?.name
  const n = await pool.query({ text: 'select count(*)::int as n from items' })
  pool.query('select 1', (err, res) => console.log(err?.message, res.rowCount))
  console.log(name, n.rows[0], pool.username, pool.totalCount, pool.idleCount, pool.waitingCount, pool.ending)

  const conn: PoolClient = await pool.connect()
  try {
    await conn.query('begin')
    await conn.query('commit')
  } finally {
    conn.release()
  }
  try {
    await fixed.query('select 1')
  } catch (err) {
    if (isAuthFailure(err)) console.log('refused twice')
  }

  await Promise.all([pool.end(), asmPool.end(), fixed.end()])
  const ended: boolean = pool.ended
  console.log(ended, await client.close())
}

void main()
