'use strict';
// Express app that reads its secrets through secretkit (the Node binding).
// GET /secrets lists the example references in their redacted form (never a
// value); GET /health answers once the app is up. Listens on $PORT.

const crypto = require('node:crypto');
const express = require('express');
const { Client, SecretkitError } = require('secretkit');

const REFERENCES = [
  'ssm:/prod/myapp/db-password',
  'asm:prod/myapp/db-credentials#password',
  'vault:secret/myapp/config#api_key',
];

// One client for the process, made at startup from the environment (the AWS
// credential chain, VAULT_ADDR/VAULT_TOKEN). It only reads configuration, so
// a broken setup fails here, before the server listens. Values are cached
// (5 min by default) and a cache hit answers without touching the backend.
const client = Client.fromEnv();

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

const app = express();

app.get('/secrets', async (req, res) => {
  const secrets = await Promise.all(REFERENCES.map(read));
  const ok = secrets.every((s) => !s.error);
  res.status(ok ? 200 : 502).json({ app: 'express', secrets });
});

app.get('/health', (req, res) => {
  res.json({ status: 'ok' });
});

const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || '127.0.0.1';
const server = app.listen(port, host, (err) => {
  if (err) throw err;
  console.log(`express example listening on http://${host}:${port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
