// Run by test/canary.test.mjs under Deno: the canary probe (probe.mjs) with
// the WASM package, configured from Deno.env; prints its result as the last
// line, as JSON (the revealed value is compared inside, never printed).
import * as lib from '../../pkg/index.mjs';
import { probe } from './probe.mjs';

const env = (name) => Deno.env.get(name);
const config = {
  aws: {
    region: env('AWS_REGION'),
    accessKeyId: env('AWS_ACCESS_KEY_ID'),
    secretAccessKey: env('AWS_SECRET_ACCESS_KEY'),
    endpoint: env('AWS_ENDPOINT_URL'),
  },
  vault: { address: env('VAULT_ADDR'), token: env('VAULT_TOKEN') },
};
const refs = Object.fromEntries(
  ['ssm', 'asm', 'asm-json', 'vault', 'env', 'file'].map((s) => [s, env(`SK_CANARY_${s.toUpperCase().replace('-', '_')}`)]),
);
const result = await probe(lib, config, env('SK_CANARY'), refs, Deno.inspect);
console.log(JSON.stringify(result));
