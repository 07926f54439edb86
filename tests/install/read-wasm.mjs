// Install test, WASM in Node: `import { Client } from 'secretkit-wasm'`, read
// the three example secrets and compare with EXPECTED.json (reference ->
// value). The edge package takes explicit config only (no environment on the
// edge), so this program builds it from the servers' variables, as a Node
// user of the package would. Prints only the reference, ok / MISMATCH and the
// length.
//   node read-wasm.mjs EXPECTED.json
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { Client, SecretkitError } from 'secretkit-wasm';

const expected = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const env = process.env;
const client = new Client({
  aws: {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    endpoint: env.AWS_ENDPOINT_URL,
  },
  vault: { address: env.VAULT_ADDR, token: env.VAULT_TOKEN },
});
let failures = 0;
try {
  for (const [reference, want] of Object.entries(expected)) {
    try {
      const secret = await client.get(reference);
      const value = secret.reveal();
      const shown = [inspect(secret), String(secret), JSON.stringify(secret)];
      const ok = value === want && !shown.some((text) => text.includes(want));
      console.log(`  ${reference}: ${ok ? 'ok' : 'MISMATCH'} (${value.length} chars)`);
      if (!ok) failures++;
    } catch (err) {
      if (!(err instanceof SecretkitError)) throw err;
      console.log(`  ${reference}: error ${err.code}`);
      failures++;
    }
  }
} finally {
  await client.close();
}
process.exitCode = failures ? 1 : 0;
