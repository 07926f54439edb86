// One Lambda execution environment for invoke_local.py --runtime node:
// imports handler.mjs (the init phase, top-level await included), says
// "ready", then runs one invocation per line read from stdin and writes each
// response as one JSON line. invoke_local.py freezes this process between
// invocations (SIGSTOP / SIGCONT), as Lambda does.
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';

const { handler } = await import('./handler.mjs');
process.stdout.write('ready\n');

const event = { rawPath: '/secrets', requestContext: { http: { method: 'GET' } } };
for await (const line of createInterface({ input: process.stdin })) {
  if (line !== 'invoke') break;
  const context = { awsRequestId: randomUUID(), functionName: 'secretkit-example', getRemainingTimeInMillis: () => 30000 };
  const response = await handler(event, context);
  process.stdout.write(JSON.stringify(response) + '\n');
}
