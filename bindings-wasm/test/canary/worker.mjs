// Run by test/canary.test.mjs under workerd: the canary probe (probe.mjs)
// with the package's workerd entry; answers with its result as JSON. The
// config module (written for the run, deleted after) holds the client
// config, the canary to compare against and the references.
import setup from './config.json';
import * as lib from './pkg/workerd.mjs';
import { probe } from './probe.mjs';

export default {
  async fetch() {
    try {
      return Response.json(await probe(lib, setup.config, setup.canary, setup.refs, null));
    } catch (err) {
      return new Response(`probe failed: ${err?.name}: ${err?.message}\n${err?.stack}`, { status: 500 });
    }
  },
};
