// A Cloudflare worker using the package: reads the three example secrets from
// the local moto / OpenBao (config in the CONFIG binding) and answers with
// what each looks like printed, JSON-encoded and revealed, plus one error.
import { Client, SecretkitError } from './pkg/workerd.mjs';

const REFS = [
  'ssm:/prod/myapp/db-password',
  'asm:prod/myapp/db-credentials#password',
  'vault:secret/myapp/config#api_key',
];

let client; // module scope: one client (and cache) for every request

export default {
  async fetch(request, env) {
    client ??= new Client(env.CONFIG);
    const secrets = {};
    for (const ref of REFS) {
      const secret = await client.get(ref);
      secrets[ref] = { shown: `${secret}`, json: JSON.stringify(secret), value: secret.reveal() };
    }
    let error = null;
    try {
      await client.get('ssm:/prod/myapp/missing');
    } catch (e) {
      error = { isSecretkitError: e instanceof SecretkitError, code: e.code, reference: e.reference };
    }
    return Response.json({ secrets, error });
  },
};
