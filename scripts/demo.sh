#!/usr/bin/env bash
# The secretkit demo, from a fresh clone: installs what it needs, builds the
# three bindings, starts moto (AWS) and OpenBao (Vault) on free loopback ports
# with the example secrets, then runs every example for real —
#   Django (runserver, with a throwaway PostgreSQL whose password is the one in SSM),
#   Express (Node binding), the edge worker under workerd and under Deno (WASM),
#   and the Lambda handler invoked locally (Python binding) —
# asks each for /secrets and prints the answers: redacted forms, versions and
# fetch times, plus a fingerprint (length + sha256 prefix) of each revealed
# value checked against the backend itself. No value is ever printed.
# Everything it started is stopped on exit; exit status 1 if any step failed.
# Logs: .state/demo/logs/.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
PY="$REPO/.venv/bin/python"
STATE="$REPO/.state/demo"
LOGS="$STATE/logs"
PIDS="$STATE/app-pids"
ENV_FILE="$REPO/.state/demo-servers.env"
# PostgreSQL runs as the postgres user, which may not reach a clone under /root.
PG_DIR="/tmp/secretkit-demo-$(printf '%s' "$REPO" | sha256sum | cut -c1-12)/postgres"
REPORT="$REPO/examples/demo_report.py"
WORKER="$REPO/examples/worker"
mkdir -p "$LOGS"

failed=()
servers_started=""
pg_started=""

say() { printf '%s\n' "$*"; }

# A preparation step that the rest needs: quiet, log on failure, then stop.
must() {
  local what=$1 log="$LOGS/$2.log"
  shift 2
  printf '• %s … ' "$what"
  local t0=$SECONDS
  if "$@" >"$log" 2>&1; then
    say "ok ($((SECONDS - t0)) s)"
  else
    say "FAILED (log $log)"
    tail -n 25 "$log" | sed 's/^/    | /'
    exit 1
  fi
}

fail() {
  failed+=("$1")
  [[ -n "${2:-}" && -s "$2" ]] && tail -n 15 "$2" | sed 's/^/    | /'
}

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Stop app process groups recorded by this run, or left by an earlier one that
# was killed, checking first that each still runs something from this repo.
stop_apps() {
  [[ -f "$PIDS" ]] || return 0
  local pid live=()
  while read -r pid; do
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -e "$REPO/examples" -e "examples/"; then
      kill -TERM -- "-$pid" 2>/dev/null && live+=("$pid")
    fi
  done <"$PIDS"
  for _ in $(seq 50); do
    local any=""
    for pid in "${live[@]}"; do kill -0 -- "-$pid" 2>/dev/null && any=1; done
    [[ -z "$any" ]] && break
    sleep 0.1
  done
  for pid in "${live[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
  rm -f "$PIDS"
}

cleanup() {
  local rc=$?
  stop_apps
  [[ -n "$pg_started" ]] && "$PY" examples/django/dev_postgres.py stop --dir "$PG_DIR" >>"$LOGS/postgres.log" 2>&1
  [[ -n "$servers_started" ]] && "$PY" tests/servers.py stop --env-file "$ENV_FILE" >>"$LOGS/servers.log" 2>&1
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Start NAME in its own process group (so stop_apps ends its children too).
APP_PID=""
start_app() {
  local name=$1
  shift
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  APP_PID=$!
  echo "$APP_PID" >>"$PIDS"
}

# Wait for an app, then print and check its /secrets answer.
check_app() {
  local name=$1 pid=$2 ready_url=$3 secrets_url=$4
  if ! "$PY" "$REPORT" wait "$ready_url" --pid "$pid" --timeout 60; then
    say "  $name — did not start (log $LOGS/$name.log)"
    fail "$name" "$LOGS/$name.log"
    return
  fi
  "$PY" "$REPORT" show "$name" "$secrets_url" --servers-env "$ENV_FILE" || fail "$name" "$LOGS/$name.log"
}

say "secretkit demo"
stop_apps
must "installing dependencies (.venv: moto, OpenBao, pytest, maturin)" install-deps scripts/install-deps.sh
must "installing PostgreSQL (Debian packages) for the Django example" install-postgres scripts/install-postgres.sh
must "installing Ruby, ffi and Rack (Debian packages) for the Rack example" install-ruby scripts/install-ruby.sh
must "building and installing the Python, Node, WASM and Ruby bindings" build-bindings scripts/build-bindings.sh
must "installing the examples' dependencies (pip, npm)" example-deps bash -c '
  set -e
  "$1" -m pip install --quiet --disable-pip-version-check \
    -r examples/django/requirements.txt -r examples/lambda/requirements.txt
  for dir in examples/express examples/worker; do
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
  done' _ "$PY"

"$PY" tests/servers.py stop --env-file "$ENV_FILE" >"$LOGS/servers.log" 2>&1
servers_started=1
must "starting moto (SSM, Secrets Manager) and OpenBao, seeding the example secrets" servers \
  "$PY" tests/servers.py start --env-file "$ENV_FILE"
set -a
# shellcheck disable=SC1090
. "$ENV_FILE"
set +a
export SECRETKIT_EXAMPLE_FINGERPRINTS=1 # the apps add length + sha256 prefix, for the proof below
export DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1

pg_port=$(free_port)
pg_started=1
must "starting PostgreSQL for the Django example (role app_user, password from SSM)" postgres \
  "$PY" examples/django/dev_postgres.py start --dir "$PG_DIR" --port "$pg_port" --servers-env "$ENV_FILE"

say
say "Each app reads ssm:/prod/myapp/db-password, asm:prod/myapp/db-credentials#password and"
say "vault:secret/myapp/config#api_key; '= backend' means the value it revealed has the length and"
say "sha256 of the value the backend holds (read here without secretkit)."
say

# Django (Python binding) ------------------------------------------------------
port=$(free_port)
DB_PORT=$pg_port start_app django "$PY" examples/django/manage.py runserver --noreload "127.0.0.1:$port"
check_app django "$APP_PID" "http://127.0.0.1:$port/health/" "http://127.0.0.1:$port/secrets/"
if "$PY" "$REPORT" health "http://127.0.0.1:$port/health/" \
  "database: SELECT 1 as app_user with the password revealed from SSM"; then :; else fail django-db; fi

# Express (Node binding) -------------------------------------------------------
port=$(free_port)
PORT=$port start_app express node examples/express/app.js
check_app express "$APP_PID" "http://127.0.0.1:$port/health" "http://127.0.0.1:$port/secrets"

# Rack (Ruby binding), as a Rails app would serve it ----------------------------
port=$(free_port)
RUBYLIB="$REPO/bindings-ruby/lib" start_app rack rackup -s webrick -o 127.0.0.1 -p "$port" examples/rack/config.ru
check_app rack "$APP_PID" "http://127.0.0.1:$port/health" "http://127.0.0.1:$port/secrets"

# Edge worker (WASM) under workerd, then the same module under Deno -----------
port=$(free_port)
start_app workerd "$WORKER/node_modules/.bin/workerd" serve "$WORKER/workerd.capnp" \
  --socket-addr "http=127.0.0.1:$port"
check_app workerd "$APP_PID" "http://127.0.0.1:$port/health" "http://127.0.0.1:$port/secrets"

port=$(free_port)
PORT=$port start_app deno "$WORKER/node_modules/.bin/deno" run --config "$WORKER/deno.json" --allow-net --allow-env --allow-read \
  "$WORKER/deno-main.mjs"
check_app deno "$APP_PID" "http://127.0.0.1:$port/health" "http://127.0.0.1:$port/secrets"

# Lambda (Python binding), invoked locally: a cold then a warm invocation ------
"$PY" examples/lambda/invoke_local.py 2>"$LOGS/lambda.log" |
  "$PY" "$REPORT" show lambda - --servers-env "$ENV_FILE" || fail lambda "$LOGS/lambda.log"

say
if ((${#failed[@]})); then
  say "demo FAILED: ${failed[*]} (logs in $LOGS)"
  exit 1
fi
say "demo passed: django, express, rack, workerd, deno, lambda all read the three secrets"
