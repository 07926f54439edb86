'use strict';
// Express service that reads its secrets through secretkit (the Node binding).
//
//   GET /secrets  the example references in their redacted form (never a value)
//   GET /items    rows from PostgreSQL, logged in with Vault dynamic database
//                 credentials through secretkit/pg (when DB_VAULT_ROLE is set)
//   GET /health   200 once the service is up, 503 while it shuts down
//   GET /metrics  secretkit's metrics in the Prometheus text format
//
// Environment: the AWS credential chain and VAULT_ADDR/VAULT_TOKEN (or the
// other VAULT_* login variables); PORT, HOST. The database route needs
// DB_VAULT_ROLE (a role of Vault's database engine, e.g. myapp-readonly) and
// takes DB_VAULT_MOUNT (database), DB_HOST (127.0.0.1), DB_PORT (5432),
// DB_NAME (myapp); without DB_VAULT_ROLE it answers 503 and the rest works
// (the demo runs it that way). SECRETKIT_AUDIT_FILE turns the access audit
// trail on: each read is recorded there with the request's id (never a value).
//
// SIGTERM/SIGINT: stop accepting requests and let the in-flight ones finish
// (server.close), then end the database pools (pool.end), then close the
// secretkit client, which revokes the Vault lease (the database role is dropped).

const crypto = require('node:crypto');
const express = require('express');
const pg = require('pg');
const { Client, SecretkitError, runWithIdentity } = require('secretkit');
const { createPool } = require('secretkit/pg');

const REFERENCES = [
  'ssm:/prod/myapp/db-password',
  'asm:prod/myapp/db-credentials#password',
  'vault:secret/myapp/config#api_key',
];

// One client for the process, made at startup from the environment (the AWS
// credential chain, VAULT_ADDR/VAULT_TOKEN). It only reads configuration, so
// a broken setup fails here, before the server listens. Values are cached
// (5 min by default) and a cache hit answers without touching the backend.
const auditFile = process.env.SECRETKIT_AUDIT_FILE;
const client = Client.fromEnv(auditFile ? { audit: { file: auditFile } } : {});

// Fingerprints (length + sha256 prefix) only on request, so the demo can
// prove the values were really read; a real app would not expose them.
const exposeFingerprints = process.env.SECRETKIT_EXAMPLE_FINGERPRINTS === '1';

function describe(secret) {
  const entry = {
    reference: secret.reference,
    redacted: String(secret),
    version: secret.version ?? null,
    fetched_at: secret.fetchedAt.toISOString(),
  };
  if (exposeFingerprints) {
    const value = secret.revealBytes();
    const sha256 = crypto.createHash('sha256').update(value).digest('hex').slice(0, 12);
    entry.fingerprint = { length: value.length, sha256 };
  }
  return entry;
}

async function read(reference) {
  try {
    return describe(await client.get(reference));
  } catch (err) {
    if (!(err instanceof SecretkitError)) throw err;
    // Errors name the reference and the kind, never a value.
    return { reference, error: { kind: err.kind, code: err.code, message: err.message } };
  }
}

/**
 * The database pool, or null without DB_VAULT_ROLE. New connections log in
 * with the current Vault credentials; after a rotation the old pool is
 * drained and ended (in-flight queries finish), and a refused login reads
 * new credentials once and retries.
 */
async function databasePool() {
  const role = process.env.DB_VAULT_ROLE;
  if (!role) return null;
  const pool = await createPool(client, {
    credentials: { vaultRole: role, mount: process.env.DB_VAULT_MOUNT || 'database' },
    host: process.env.DB_HOST || '127.0.0.1',
    port: Number(process.env.DB_PORT || 5432),
    database: process.env.DB_NAME || 'myapp',
    max: 10,
    Pool: pg.Pool, // this app's pg (secretkit/pg would otherwise require('pg') itself)
  });
  pool.on('credentials', (e) => console.log(`database user ${e.oldUsername} -> ${e.username}`));
  pool.on('error', (err) => console.error(`idle database client failed: ${err.message}`));
  return pool;
}

function buildApp(pool, state) {
  const app = express();

  // Request id and one access-log line per request.
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    req.id = req.get('x-request-id') || crypto.randomUUID();
    res.set('x-request-id', req.id);
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      console.log(`${req.id} ${req.method} ${req.originalUrl} ${res.statusCode} ${ms.toFixed(1)} ms`);
    });
    next();
  });

  // The audit trail attributes every read made while handling a request
  // (and what it awaits) to the request's id. Only when it is on: the
  // AsyncLocalStorage context costs each hit (BENCHMARKS.md).
  if (auditFile) {
    app.use((req, res, next) => runWithIdentity({ service: 'express-example', requestId: req.id }, next));
  }

  // While shutting down, tell keep-alive clients to reconnect elsewhere.
  app.use((req, res, next) => {
    if (state.shuttingDown) res.set('connection', 'close');
    next();
  });

  app.get('/secrets', async (req, res) => {
    const secrets = await Promise.all(REFERENCES.map(read));
    const ok = secrets.every((s) => !s.error);
    res.status(ok ? 200 : 502).json({ app: 'express', secrets });
  });

  app.get('/items', async (req, res) => {
    if (pool === null) {
      res.status(503).json({ error: 'no database configured (set DB_VAULT_ROLE)' });
      return;
    }
    // Express 5 passes a rejected promise to the error handler below.
    const { rows } = await pool.query('select current_user as "user", id, name from items order by id');
    // The database user is not secret: it shows in pg_stat_activity and logs.
    res.json({ user: rows[0]?.user ?? pool.username, items: rows.map(({ id, name }) => ({ id, name })) });
  });

  app.get('/metrics', (req, res) => {
    res.type('text/plain; version=0.0.4').send(client.metricsText());
  });

  app.get('/health', (req, res) => {
    res.status(state.shuttingDown ? 503 : 200).json({ status: state.shuttingDown ? 'shutting down' : 'ok' });
  });

  // Errors answer with their kind and code only (pg and secretkit messages
  // carry no secret values, but a service need not show its internals).
  app.use((err, req, res, next) => {
    console.error(`${req.id} ${err.name}: ${err.message}`);
    if (res.headersSent) return next(err);
    const code = err instanceof SecretkitError ? err.code : err.code || 'INTERNAL';
    res.status(err instanceof SecretkitError ? 502 : 500).json({ error: 'request failed', code, request: req.id });
  });

  return app;
}

async function main() {
  const pool = await databasePool();
  const state = { shuttingDown: false };
  const app = buildApp(pool, state);

  const port = Number(process.env.PORT || 3000);
  const host = process.env.HOST || '127.0.0.1';
  const server = app.listen(port, host, (err) => {
    if (err) throw err;
    console.log(`express example listening on http://${host}:${port}` + (pool ? ` (database user ${pool.username})` : ''));
  });

  // The order matters: no new requests, then no database connections, then
  // the leases (revoking first would drop the role under running queries).
  async function shutdown(signal) {
    if (state.shuttingDown) return;
    state.shuttingDown = true;
    console.log(`${signal}: finishing in-flight requests`);
    setTimeout(() => {
      console.error('shutdown took over 10 s; exiting');
      process.exit(1);
    }, 10_000).unref();
    await new Promise((resolve) => server.close(resolve));
    if (pool) await pool.end();
    const revoked = await client.close();
    console.log(`stopped (${revoked} Vault lease(s) revoked)`);
    process.exit(0);
  }
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      shutdown(signal).catch((err) => {
        console.error(`shutdown failed: ${err.message}`);
        process.exit(1);
      });
    });
  }
}

main().catch((err) => {
  console.error(`express example failed to start: ${err.message}`);
  process.exit(1);
});
