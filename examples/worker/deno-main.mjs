// Runs worker.mjs under Deno. This file plays the platform: it builds the
// worker's env bindings (from Deno's environment here, as a deployment would
// from its settings) and hands each request to the worker's fetch(); the
// worker itself never reads a process environment.
//
//   PORT=8000 deno run --allow-net --allow-read --allow-env deno-main.mjs

import worker from './worker.mjs';

const BINDINGS = [
  'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL',
  'VAULT_ADDR', 'VAULT_TOKEN', 'VAULT_NAMESPACE', 'SECRETKIT_EXAMPLE_FINGERPRINTS', 'SECRETS_TTL_SECONDS',
];
const env = Object.freeze({
  ...Object.fromEntries(BINDINGS.flatMap((name) => {
    const value = Deno.env.get(name);
    return value ? [[name, value]] : [];
  })),
  SECRETKIT_EXAMPLE_RUNTIME: 'deno',
});

Deno.serve(
  {
    hostname: Deno.env.get('HOST') ?? '127.0.0.1',
    port: Number(Deno.env.get('PORT') ?? 8000),
    onListen: ({ hostname, port }) => console.log(`worker (deno) listening on http://${hostname}:${port}`),
  },
  // Deno keeps running background work by itself; the worker's
  // ctx.waitUntil has nothing to do here.
  (request) => worker.fetch(request, env, { waitUntil() {} }),
);
