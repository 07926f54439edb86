// The worker of bench/workerd-hit.mjs: `/get?n=N` awaits N cache hits of one
// reference, `/map?n=N` awaits N plain Map lookups, in this isolate. Time
// cannot be read inside workerd (its clocks stand still while code runs), so
// the bench times the requests from outside.
import config from './config.json';
import { Client } from './pkg/workerd.mjs';

const REF = 'ssm:/prod/myapp/db-password';
const client = new Client(config);
const map = new Map([[REF, 'value']]);

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get('n') ?? 0);
    let sink = 0;
    if (url.pathname === '/get') {
      for (let i = 0; i < n; i++) sink ^= (await client.get(REF)) ? 1 : 0;
    } else if (url.pathname === '/map') {
      for (let i = 0; i < n; i++) sink ^= (await map.get(REF)) ? 1 : 0;
    } else if (url.pathname === '/stats') {
      return Response.json(client.stats());
    }
    return new Response(String(sink));
  },
};
