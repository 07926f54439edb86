// @ts-self-types="./index.d.ts"
// Entry for browsers, bundlers and any runtime with a fetch that serves the
// package's files (the `browser` and `default` export conditions): fetch the
// .wasm next to this file. No `node:` import and no `.wasm` import, so a
// bundler never fails on the load: webpack 5 and Vite emit the .wasm as an
// asset from the `new URL(..., import.meta.url)` pattern; with esbuild, copy
// secretkit_wasm_bg.wasm next to the bundle (README, "Bundlers").
import init from './secretkit_wasm.js';

await init({ module_or_path: new URL('./secretkit_wasm_bg.wasm', import.meta.url) });

export { Client, Secret, SecretkitError, parseReference } from './api.mjs';
