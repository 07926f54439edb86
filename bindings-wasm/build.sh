#!/usr/bin/env bash
# Builds the secretkit WASM package into bindings-wasm/pkg/:
#   1. the exact wasm-bindgen-cli of Cargo.lock (cargo install) and wasm-opt
#      (npm `binaryen`, pinned in package.json) if missing,
#   2. cargo build --profile wasm (opt-level z, lto, 1 codegen unit, panic abort),
#   3. wasm-bindgen --target web,
#   4. wasm-opt -Oz,
#   5. prints the raw and gzip sizes of the final .wasm.
#
# Why `--target web`: it is plain ESM whose loading is an explicit call,
# `init(bytes | Response | Module)` or `initSync({ module })`, with no
# runtime-specific code at import time. `nodejs` is CommonJS reading the file
# with fs (workerd has neither), `bundler` imports the .wasm as an ESM-integrated
# instance (Node needs a flag; workerd hands back a Module, not an instance), and
# `deno` is Deno-only. So one `web` output plus two tiny entries: index.mjs
# (Node, Deno: reads the file next to it) and workerd.mjs (imported Module).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
pkg="$here/pkg"
cd "$root"

# 1. Tools. The CLI must match the wasm-bindgen crate exactly (the glue and
# the .wasm's custom section must agree).
want="$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if [[ -z "$want" ]]; then
  echo "build.sh: wasm-bindgen not found in Cargo.lock" >&2
  exit 1
fi
export PATH="$HOME/.cargo/bin:$PATH"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [[ "$have" != "$want" ]]; then
  echo "build.sh: installing wasm-bindgen-cli $want (found: ${have:-none})"
  # Own temporary target dir, so the workspace's target lock is not held.
  # Not --locked: the CLI's lock file pins a webpki-roots release the
  # registry no longer serves.
  env -u CARGO_TARGET_DIR cargo install wasm-bindgen-cli --version "=$want" --force
fi
wasm_opt="${WASM_OPT:-$here/node_modules/.bin/wasm-opt}"
if [[ ! -x "$wasm_opt" ]]; then
  echo "build.sh: installing wasm-opt (npm binaryen, see package.json)"
  (cd "$here" && npm ci --no-audit --no-fund)
fi

# 2. Compile.
cargo build -p secretkit-wasm --target wasm32-unknown-unknown --profile wasm

# 3. Glue. --omit-default-module-path: our entries always pass the .wasm
# explicitly, and the default `new URL(..., import.meta.url)` trips bundlers.
rm -rf "$pkg"
wasm-bindgen --target web --omit-default-module-path --out-dir "$pkg" --out-name secretkit_wasm \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm/secretkit_wasm.wasm"

# 4. Shrink. The features are the ones rustc enables for wasm32 by default.
raw_before="$(stat -c %s "$pkg/secretkit_wasm_bg.wasm")"
"$wasm_opt" -Oz --enable-bulk-memory --enable-bulk-memory-opt --enable-multivalue \
  --enable-mutable-globals --enable-nontrapping-float-to-int --enable-reference-types \
  --enable-sign-ext --enable-call-indirect-overlong \
  "$pkg/secretkit_wasm_bg.wasm" -o "$pkg/secretkit_wasm_bg.wasm"

# The idiomatic layer, entries and package.json; the license and README.
cp "$here"/js/{api.mjs,index.mjs,workerd.mjs,browser.mjs,index.d.ts,package.json,jsr.json} "$pkg/"
cp "$root/LICENSE" "$here/README.md" "$pkg/"

# 5. Sizes.
raw="$(stat -c %s "$pkg/secretkit_wasm_bg.wasm")"
gz="$(gzip -9c "$pkg/secretkit_wasm_bg.wasm" | wc -c)"
echo "secretkit_wasm_bg.wasm: $raw bytes raw ($raw_before before wasm-opt), $gz bytes gzip -9"
