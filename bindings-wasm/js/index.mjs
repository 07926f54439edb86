// @ts-self-types="./index.d.ts"
// Entry for Node and Deno: load the .wasm that sits next to this file, then
// export the API. (workerd imports workerd.mjs instead: it has no file system
// and compiles .wasm modules ahead of time.)
import init from './secretkit_wasm.js';

const wasmUrl = new URL('./secretkit_wasm_bg.wasm', import.meta.url);

async function wasmSource() {
  if (wasmUrl.protocol !== 'file:') {
    return fetch(wasmUrl); // served over http(s), e.g. a CDN
  }
  if (globalThis.Deno?.readFile) {
    return globalThis.Deno.readFile(wasmUrl);
  }
  // Node 20's fetch does not read file: URLs.
  const { readFile } = await import('node:fs/promises');
  return readFile(wasmUrl);
}

await init({ module_or_path: await wasmSource() });

export { Client, Secret, SecretkitError, parseReference } from './api.mjs';
