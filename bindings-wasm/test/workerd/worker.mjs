// A Cloudflare worker using the package: reads the three example secrets from
// the local moto / OpenBao and answers with what each looks like printed,
// JSON-encoded and revealed, plus one error; `/stats` shows the client's
// counters and the events it saw, so the test can watch refresh ahead.
import config from './config.json';
import { Client, SecretkitError } from './pkg/workerd.mjs';

const REFS = [
  'ssm:/prod/myapp/db-password',
  'asm:prod/myapp/db-credentials#password',
  'vault:secret/myapp/config#api_key',
];

// Module scope: one client, so one cache, for every request of this isolate.
const client = new Client(config);
const events = [];
client.onEvent(({ kind, reference }) => events.push({ kind, reference }));

async function readExamples() {
  const secrets = {};
  const fetchedAt = {};
  for (const ref of REFS) {
    const secret = await client.get(ref);
    secrets[ref] = { shown: `${secret}`, json: JSON.stringify(secret), value: secret.reveal() };
    fetchedAt[ref] = secret.fetchedAt.getTime();
  }
  let error = null;
  try {
    await client.get('ssm:/prod/myapp/missing');
  } catch (e) {
    error = { isSecretkitError: e instanceof SecretkitError, code: e.code, reference: e.reference };
  }
  return { secrets, fetchedAt, error };
}

export default {
  async fetch(request, env, ctx) {
    try {
      if (new URL(request.url).pathname === '/stats') {
        return Response.json({ stats: client.stats(), events });
      }
      return Response.json(await readExamples());
    } finally {
      // A read past refreshAhead answers from the cache and refreshes in the
      // background; workerd stops a request's work once it has answered
      // unless told to wait for it.
      ctx.waitUntil(client.backgroundWork());
    }
  },
};
