// @ts-self-types="./index.d.ts"
// Entry for Cloudflare workerd (the `workerd` export condition, which
// wrangler uses): the runtime hands us the .wasm as a compiled
// WebAssembly.Module, so initialise synchronously at import time.
import { initSync } from './secretkit_wasm.js';
import wasmModule from './secretkit_wasm_bg.wasm';

initSync({ module: wasmModule });

export { Client, Secret, SecretkitError, parseReference } from './api.mjs';
