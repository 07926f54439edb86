'use strict';
// The minimal Express 5 app of bench/frameworks.sh (issue 9): GET /secret
// reads prod/myapp/db-credentials' password and answers its length.
// FWB_VARIANT picks how: secretkit, sdk (@aws-sdk/client-secrets-manager +
// a TTL Map) or floor (no read); the variants differ only in read() and
// backendCalls(). PORT, HOST; AWS settings from the environment.

const express = require('express');

const VARIANT = process.env.FWB_VARIANT;
const TTL_MS = 300_000; // secretkit's default TTL is 300 s as well
let read;
let backendCalls;

if (VARIANT === 'secretkit') {
  // As examples/express/app.js reads: one Client.fromEnv() for the process.
  const { Client } = require('secretkit');
  const client = Client.fromEnv();
  read = async () => (await client.get('asm:prod/myapp/db-credentials#password')).reveal();
  backendCalls = () => client.stats().backendCalls.asm;
} else if (VARIANT === 'sdk') {
  // What users hand-write: the AWS SDK v3 and a Map of { value, expires }.
  const { SecretsManagerClient, GetSecretValueCommand } = require('@aws-sdk/client-secrets-manager');
  const sm = new SecretsManagerClient({});
  const cache = new Map();
  let calls = 0;
  read = async () => {
    const name = 'prod/myapp/db-credentials';
    const hit = cache.get(name);
    if (hit !== undefined && hit.expires > Date.now()) return hit.value;
    calls += 1;
    const out = await sm.send(new GetSecretValueCommand({ SecretId: name }));
    const value = JSON.parse(out.SecretString).password;
    cache.set(name, { value, expires: Date.now() + TTL_MS });
    return value;
  };
  backendCalls = () => calls;
} else if (VARIANT === 'floor') {
  // No secret read: the framework's own cost.
  read = async () => 's3cureP@ssw0rd!';
  backendCalls = () => 0;
} else {
  throw new Error(`FWB_VARIANT=${VARIANT}: secretkit, sdk or floor`);
}

const app = express();
app.get('/secret', async (req, res) => {
  res.json({ length: (await read()).length });
});
app.get('/calls', (req, res) => {
  res.json({ variant: VARIANT, pid: process.pid, backend_calls: backendCalls() });
});

const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || '127.0.0.1';
app.listen(port, host, (err) => {
  if (err) throw err;
  console.log(`listening on http://${host}:${port} (${VARIANT})`);
});
