// The app a user bundles (test/bundle.test.mjs): it imports the package by
// name, so the bundler picks the entry by export condition, and reads the
// three example secrets with settings from the runtime's environment.
import { Client } from 'secretkit-wasm';

const env = (name) => (globalThis.Deno ? Deno.env.get(name) : process.env[name]);
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
const values = [];
for (const ref of refs) values.push((await client.get(ref)).reveal());
await client.close();
console.log(JSON.stringify({ values }));
