#!/usr/bin/env bash
# Every test, from a fresh clone: installs what it needs, starts moto and
# OpenBao on free loopback ports, runs the Rust, Python, Node and WASM suites
# against them, stops the servers, and exits non-zero if any suite failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
export CARGO_TERM_COLOR=never
started=$SECONDS

scripts/install-deps.sh
scripts/build-bindings.sh

ENV_FILE="$REPO/.state/test-servers.env"
mkdir -p "$REPO/.state"
.venv/bin/python tests/servers.py stop --env-file "$ENV_FILE" >/dev/null 2>&1 || true
.venv/bin/python tests/servers.py start --env-file "$ENV_FILE" --fixtures
trap '.venv/bin/python tests/servers.py stop --env-file "$ENV_FILE"' EXIT
set -a
# shellcheck disable=SC1090
. "$ENV_FILE"
set +a

failed=()
suite() {
  local name=$1
  shift
  echo
  echo "=== $name: $*"
  if ! "$@"; then
    failed+=("$name")
  fi
}

suite format cargo fmt --all --check
suite rust cargo test -p secretkit
suite python .venv/bin/python -m pytest bindings-python/tests
suite node bash -c 'cd bindings-node && node --test test/*.test.mjs'
suite wasm bash -c 'cd bindings-wasm && node --test test/*.test.mjs'

echo
echo "=== done in $((SECONDS - started)) s"
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all suites passed: rust, python, node, wasm"
