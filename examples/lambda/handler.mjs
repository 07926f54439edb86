// AWS Lambda handler (Node, ESM) reading its secrets through secretkit: the
// same pattern as handler.py (bindings-node/README.md, "AWS Lambda").
// - The client is made at module scope, during the init phase; warm
//   invocations reuse it and its cache.
// - The secrets are read at init with a top-level await (getMany: the
//   backends in parallel, batched per backend); `settled: true` so a backend
//   that is down fails the request that needs it, not the init.
// - Between invocations Lambda freezes the process: the cache's clocks go on,
//   its timers do not. A value past its refresh-ahead point is served at once
//   and refreshed after the thaw; one past its TTL is read again by the next
//   invocation; an expired Vault lease is never served.
import { createHash } from 'node:crypto';
import { Client, SecretkitError } from 'secretkit';

const REFERENCES = [
  'ssm:/prod/myapp/db-password',
  'asm:prod/myapp/db-credentials#password',
  'vault:secret/myapp/config#api_key',
];

// SECRETS_TTL_SECONDS: this example's knob for the cache's TTL (5 minutes by
// default); invoke_local.py's freeze test sets it short.
const client = Client.fromEnv({ defaultTtl: Number(process.env.SECRETS_TTL_SECONDS ?? 300) });
await client.getMany(REFERENCES, { settled: true });

// Fingerprints only on request, so the demo can prove the values were read.
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
    const sha256 = createHash('sha256').update(value).digest('hex').slice(0, 12);
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

export async function handler(event, context) {
  const secrets = await Promise.all(REFERENCES.map(read));
  const ok = !secrets.some((s) => 'error' in s);
  const body = {
    app: 'lambda-node',
    request_id: context?.awsRequestId ?? null,
    secrets,
    // Calls to each backend since init: a warm invocation adds none.
    backend_calls: client.stats().backendCalls,
  };
  return { statusCode: ok ? 200 : 502, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
