// Run by test/deno.test.mjs under Deno: the WASM package in a real Deno
// runtime, configured explicitly from Deno.env like an edge deployment would
// configure it from its settings. Prints one JSON line for the test to check.
import { Client, SecretkitError } from '../../pkg/index.mjs';

const env = (name) => Deno.env.get(name);
const client = new Client({
  aws: {
    region: env('AWS_REGION'),
    accessKeyId: env('AWS_ACCESS_KEY_ID'),
    secretAccessKey: env('AWS_SECRET_ACCESS_KEY'),
    endpoint: env('AWS_ENDPOINT_URL'),
  },
  vault: { address: env('VAULT_ADDR'), token: env('VAULT_TOKEN') },
});

const refs = [
  'ssm:/prod/myapp/db-password',
  'asm:prod/myapp/db-credentials#password',
  'vault:secret/myapp/config#api_key',
];
const out = { values: [], shown: [], missing: null };
for (const ref of refs) {
  const secret = await client.get(ref);
  out.values.push(secret.reveal());
  out.shown.push([String(secret), Deno.inspect(secret), JSON.stringify({ secret })]);
}
try {
  await client.get('ssm:/prod/myapp/nope');
} catch (err) {
  out.missing = { isSecretkitError: err instanceof SecretkitError, code: err.code, reference: err.reference };
}
console.log(JSON.stringify(out));
