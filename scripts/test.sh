#!/usr/bin/env bash
# Every test, from a fresh clone: installs what it needs, starts moto and
# OpenBao on free loopback ports, runs the Rust, Python, Node, WASM and Ruby suites
# against them, stops the servers, and exits non-zero if any suite failed.
# Last, the leak canary: a random value planted in every backend and read by
# each suite's canary test must appear nowhere in the run's output, the
# canary tests' logs or the servers' logs (RELIABILITY.md, "Leak canary").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
export CARGO_TERM_COLOR=never
started=$SECONDS

scripts/install-deps.sh
scripts/install-postgres.sh
scripts/install-ruby.sh
scripts/build-bindings.sh
# This machine's release artifacts, from the builds above, for the install
# tests (their own dir: a developer's dist/ from scripts/package.sh stays).
export SK_DIST="$CARGO_TARGET_DIR/dist-host"
bash scripts/package.sh --host

# PostgreSQL runs as the postgres user, which may not reach a clone under
# /root: keep the servers' state under /tmp, one directory per checkout.
STATE="/tmp/secretkit-test-$(printf '%s' "$REPO" | sha256sum | cut -c1-12)"
ENV_FILE="$STATE/servers.env"
mkdir -p "$STATE"
chmod 755 "$STATE"
.venv/bin/python tests/servers.py stop --env-file "$ENV_FILE" >/dev/null 2>&1 || true
# Everything the suites print also goes to RUN_LOG; the canary tests write
# what they rendered under SK_CANARY_OUT. Both are scanned at the end.
RUN_DIR="$STATE/run"
RUN_LOG="$RUN_DIR/output.log"
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR/canary"
export SK_CANARY_OUT="$RUN_DIR/canary"
# A fresh canary every run; servers.py plants it (never printed).
SK_CANARY="canary-$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(16))')"
export SK_CANARY
# Short AppRole token TTLs so the re-login test sees a max TTL within 40 s.
.venv/bin/python tests/servers.py start --env-file "$ENV_FILE" --fixtures --vault-lifecycle \
  --approle-token-ttl 10s --approle-token-max-ttl 30s 2>&1 | tee -a "$RUN_LOG"
trap '.venv/bin/python tests/servers.py stop --env-file "$ENV_FILE"' EXIT
set -a
# shellcheck disable=SC1090
. "$ENV_FILE"
set +a

failed=()
# Runs one suite, its output to the console and RUN_LOG (pipefail: the
# suite's status, not tee's).
suite() {
  local name=$1
  shift
  printf '\n=== %s: %s\n' "$name" "$*" | tee -a "$RUN_LOG"
  if ! "$@" 2>&1 | tee -a "$RUN_LOG"; then
    failed+=("$name")
  fi
}

suite format cargo fmt --all --check
# --show-output prints the figures the lifecycle tests report; --features
# tracing builds the optional tracing events in (tests/tracing.rs).
suite rust cargo test -p secretkit --features tracing -- --show-output
# Secrets Manager rotation handlers against moto and PostgreSQL (ROTATION.md).
suite rotation cargo test -p secretkit-rotation -- --show-output
suite python .venv/bin/python -m pytest bindings-python/tests
suite node bash -c 'cd bindings-node && node --test test/*.test.mjs'
suite wasm bash -c 'cd bindings-wasm && node --test test/*.test.mjs'
suite ruby bash -c 'cd bindings-ruby && rake test'
# The agent and CLI (target/bin/secretkit) as Python's urllib and Node's
# fetch call it (README, "Agent and CLI").
suite agent bash -c 'cargo test -p secretkit-cli && .venv/bin/python -m pytest tests/agent && node --test tests/agent/*.test.mjs'
# Installed by name from a private PyPI and npm registry, as an unprivileged
# user with no Rust toolchain (tests/install/run.sh).
suite install bash tests/install/run.sh

# The scan reads RUN_LOG, so it is not tee'd into it. --self-test first: the
# scan must find a made-up canary planted in every form it looks for.
echo
echo "=== leak canary: scripts/leak_scan.py --self-test; scripts/leak_scan.py (run output, canary logs, servers' logs)"
if ! .venv/bin/python scripts/leak_scan.py --self-test ||
  ! .venv/bin/python scripts/leak_scan.py "$RUN_LOG" "$SK_CANARY_OUT" "$SK_STATE_DIR"; then
  failed+=("leak canary")
fi

echo
echo "=== done in $((SECONDS - started)) s"
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all suites passed: rust, rotation, python, node, wasm, ruby, agent, install, leak canary"
