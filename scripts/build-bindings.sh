#!/usr/bin/env bash
# Builds the three bindings from this checkout:
#   Python  wheel (maturin, release) in target/wheels-host/, installed into .venv
#   Node    the napi addon inside bindings-node/ (examples link it by file:)
#   WASM    bindings-wasm/pkg/ (wasm-bindgen --target web, wasm-opt -Oz)
#   Ruby    bindings-ruby/lib/secretkit/ (the library, and native.rb generated
#           from it by uniffi: `rake native`; needs scripts/install-ruby.sh)
#   Agent   the `secretkit` binary (agent and CLI, crate agent/), copied to
#           target/bin/secretkit
# All of them share one cargo target dir, so the core's dependencies build once
# per target.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export PATH="$HOME/.cargo/bin:$PATH"

step() { echo "--- build-bindings: $*"; }

rustup target add wasm32-unknown-unknown >/dev/null 2>&1 ||
  rustup target list --installed | grep -qx wasm32-unknown-unknown

# napi-rs builds with an explicit --target, so its artifacts go to
# target/<host triple>/release; building the wheel for that same triple lets
# the Node addon reuse every dependency the wheel compiled (one release build
# of the AWS SDK and tokio instead of two: minutes of CI on 2 cores).
host=$(rustc -vV | sed -n 's/^host: //p')

# The wheel is kept in target/wheels-host/: scripts/package.sh --host
# publishes that same file to the install tests' private registry.
step "python wheel → target/wheels-host/, installed into .venv"
rm -rf "$CARGO_TARGET_DIR/wheels-host"
.venv/bin/maturin build --quiet --release --target "$host" -m bindings-python/Cargo.toml \
  -o "$CARGO_TARGET_DIR/wheels-host"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
  "$CARGO_TARGET_DIR"/wheels-host/secretkit-*.whl

step "node addon → bindings-node/"
(cd bindings-node && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)

step "wasm package → bindings-wasm/pkg/"
(cd bindings-wasm && npm ci --no-audit --no-fund --loglevel=error)
bindings-wasm/build.sh

# Built for the same --target as the Node addon, so it reuses its dependencies.
step "ruby library + uniffi's generated native.rb → bindings-ruby/lib/secretkit/"
(cd bindings-ruby && rake --silent native)

# Same --target again: the agent reuses the release build of the core's
# dependencies (only hyper's server side and what sits on it build anew).
step "secretkit agent and CLI → $CARGO_TARGET_DIR/bin/secretkit"
cargo build --quiet --release --target "$host" -p secretkit-cli
mkdir -p "$CARGO_TARGET_DIR/bin"
cp "$CARGO_TARGET_DIR/$host/release/secretkit" "$CARGO_TARGET_DIR/bin/secretkit.tmp"
mv -f "$CARGO_TARGET_DIR/bin/secretkit.tmp" "$CARGO_TARGET_DIR/bin/secretkit"
