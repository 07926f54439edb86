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
scripts/install-postgres.sh
scripts/build-bindings.sh

# PostgreSQL runs as the postgres user, which may not reach a clone under
# /root: keep the servers' state under /tmp, one directory per checkout.
STATE="/tmp/secretkit-test-$(printf '%s' "$REPO" | sha256sum | cut -c1-12)"
ENV_FILE="$STATE/servers.env"
mkdir -p "$STATE"
chmod 755 "$STATE"
.venv/bin/python tests/servers.py stop --env-file "$ENV_FILE" >/dev/null 2>&1 || true
# Short AppRole token TTLs so the re-login test sees a max TTL within 40 s.
.venv/bin/python tests/servers.py start --env-file "$ENV_FILE" --fixtures --vault-lifecycle \
  --approle-token-ttl 10s --approle-token-max-ttl 30s
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
# --show-output prints the figures the lifecycle tests report.
suite rust cargo test -p secretkit -- --show-output
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
