// Edge worker reading its secrets through secretkit's WASM package.
// The same module runs under workerd (workerd.capnp) and Deno (deno-main.mjs).
//
// Configuration comes from the worker's env bindings, never from a process
// environment (edge runtimes have none): AWS_REGION, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN?, AWS_ENDPOINT_URL?, VAULT_ADDR,
// VAULT_TOKEN, VAULT_NAMESPACE?, SECRETS_TTL_SECONDS?.
//
// GET /secrets lists the example references in their redacted form (never a
// value); GET /health answers once the isolate is up.

// 'secretkit-wasm' is bindings-wasm/pkg: workerd.capnp maps the name to the
// package's workerd entry (the .wasm arrives precompiled), deno.json to its
// default entry (which loads the .wasm from disk).
import { Client, SecretkitError } from 'secretkit-wasm';

const REFERENCES = [
  'ssm:/prod/myapp/db-password',
  'asm:prod/myapp/db-credentials#password',
  'vault:secret/myapp/config#api_key',
];

function clientConfig(env) {
  const config = {};
  if (env.AWS_REGION && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    config.aws = {
      region: env.AWS_REGION,
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    };
    if (env.AWS_SESSION_TOKEN) config.aws.sessionToken = env.AWS_SESSION_TOKEN;
    if (env.AWS_ENDPOINT_URL) config.aws.endpoint = env.AWS_ENDPOINT_URL;
  }
  if (env.VAULT_ADDR && env.VAULT_TOKEN) {
    config.vault = { address: env.VAULT_ADDR, token: env.VAULT_TOKEN };
    if (env.VAULT_NAMESPACE) config.vault.namespace = env.VAULT_NAMESPACE;
  }
  // This example's knob for the cache's TTL (5 minutes by default); the
  // tests set it short to run requests across expiries.
  if (env.SECRETS_TTL_SECONDS) config.defaultTtl = Number(env.SECRETS_TTL_SECONDS);
  return config;
}

// One client per isolate, so its cache outlives a request. Module workers see
// env only inside fetch(), so the client is made on the first request (and
// again only if the bindings change).
let client = null;
let clientKey = null;

function clientFor(env) {
  const config = clientConfig(env);
  const key = JSON.stringify(config);
  if (client === null || key !== clientKey) {
    client = new Client(config);
    clientKey = key;
  }
  return client;
}

async function sha256Prefix(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('').slice(0, 12);
}

async function describe(secret, withFingerprint) {
  const entry = {
    reference: secret.reference,
    redacted: String(secret),
    version: secret.version ?? null,
    fetched_at: secret.fetchedAt.toISOString(),
  };
  if (withFingerprint) {
    // Only on request, so the demo can prove the value was really read.
    const value = secret.revealBytes();
    entry.fingerprint = { length: value.length, sha256: await sha256Prefix(value) };
  }
  return entry;
}

async function read(client, reference, withFingerprint) {
  try {
    return await describe(await client.get(reference), withFingerprint);
  } catch (err) {
    if (!(err instanceof SecretkitError)) throw err;
    // Errors name the reference and the kind, never a value.
    return { reference, error: { kind: err.kind, code: err.code, message: err.message } };
  }
}

function json(body, status = 200) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === '/health') return json({ status: 'ok' });
    if (pathname !== '/secrets') return json({ error: 'not found' }, 404);
    const c = clientFor(env);
    try {
      const withFingerprint = env.SECRETKIT_EXAMPLE_FINGERPRINTS === '1';
      const secrets = await Promise.all(REFERENCES.map((r) => read(c, r, withFingerprint)));
      const ok = secrets.every((s) => !s.error);
      return json({ app: env.SECRETKIT_EXAMPLE_RUNTIME ?? 'worker', secrets }, ok ? 200 : 502);
    } finally {
      // On every request: a read past refreshAhead refreshes in the
      // background, and workerd cancels work the request does not wait for;
      // a cancelled refresh would make a later read of that entry hang
      // (bindings-wasm/README.md, "Refresh ahead on the edge").
      ctx.waitUntil(c.backgroundWork());
    }
  },
};
