#!/usr/bin/env bash
# Issue 9: requests/s of a Django view and an Express route that read a
# secret per request through secretkit, against the same apps reading it
# with the AWS SDK (boto3 / @aws-sdk/client-secrets-manager) and a
# hand-written TTL map, and against a floor that reads nothing. All against
# the real moto server of tests/servers.py; load from autocannon.
#
#   bench/frameworks.sh
#
# Tunables (environment): FWB_ROUNDS (3), FWB_DURATION (10 s), FWB_WARMUP
# (2 s), FWB_CONNECTIONS (20), FWB_WORKERS (gunicorn workers, 2),
# FWB_WORKER_CLASS (gthread), FWB_KEEP=1 keeps the state directory (logs).
#
# gunicorn runs gthread workers with one thread each: one request at a time
# per worker, as the sync worker does, but with HTTP keep-alive. The sync
# worker closes the connection after every response, and autocannon then
# sends the next request into the closing socket and re-sends it after
# reconnecting, timing it from the first send: its requests/s stay right
# (they match the access log) but its latencies read ~1 s (p50) where
# Little's law gives ~10 ms. FWB_WORKER_CLASS=sync runs it anyway.
#
# Needs: .venv from scripts/install-deps.sh with the secretkit wheel
# (scripts/build-bindings.sh), bindings-node built. The script runs `npm ci`
# in bench/frameworks when its node_modules is missing (autocannon, express,
# the AWS SDK; secretkit links to ../../bindings-node).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$REPO/bench/frameworks"
PY="$REPO/.venv/bin/python"
ROUNDS="${FWB_ROUNDS:-3}"
DURATION="${FWB_DURATION:-10}"
WARMUP="${FWB_WARMUP:-2}"
CONNECTIONS="${FWB_CONNECTIONS:-20}"
WORKERS="${FWB_WORKERS:-2}"
WORKER_CLASS="${FWB_WORKER_CLASS:-gthread}"
COMMAND="bench/frameworks.sh${*:+ $*}"
for var in FWB_ROUNDS FWB_DURATION FWB_WARMUP FWB_CONNECTIONS FWB_WORKERS FWB_WORKER_CLASS; do
  [[ -n "${!var:-}" ]] && COMMAND="$var=${!var} $COMMAND"
done

STATE="$(mktemp -d /tmp/fwb.XXXXXX)"
chmod 755 "$STATE"
ENV_FILE="$STATE/servers.env"
APP_PIDS=()
servers_started=0

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${APP_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${APP_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if ((servers_started)); then
    (cd "$REPO" && "$PY" tests/servers.py stop --env-file "$ENV_FILE" >/dev/null) || true
  fi
  if ((status != 0)); then
    for log in "$STATE"/*.log; do
      [[ -f "$log" ]] && { echo "--- tail of $log" >&2; tail -n 20 "$log" >&2; }
    done
  fi
  if [[ "${FWB_KEEP:-0}" == 1 || $status -ne 0 ]]; then
    echo "state and logs kept in $STATE" >&2
  else
    rm -rf "$STATE"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ -x "$PY" ]] || { echo "no $PY: run scripts/install-deps.sh" >&2; exit 1; }
if [[ ! -d "$BENCH/node_modules/autocannon" ]]; then
  (cd "$BENCH" && npm ci --no-audit --no-fund --loglevel=error)
fi

npm_version() { node -p "require('$BENCH/node_modules/$1/package.json').version"; }
py_version() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))"; }

echo "# secretkit frameworks benchmark (issue 9)"
echo "command:  $COMMAND"
echo "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD -- core bindings-python bindings-node || echo ' (work tree modified)')"
echo "machine:  $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "python:   $("$PY" -c 'import platform; print(platform.python_version())'), Django $(py_version Django), gunicorn $(py_version gunicorn), boto3 $(py_version boto3), secretkit $(py_version secretkit), moto $(py_version moto)"
echo "node:     $(node --version), express $(npm_version express), @aws-sdk/client-secrets-manager $(npm_version @aws-sdk/client-secrets-manager), autocannon $(npm_version autocannon)"
echo "setup:    Django under gunicorn, $WORKERS $WORKER_CLASS workers (1 thread each); Express on one Node process; secret asm:prod/myapp/db-credentials#password (moto), TTL 300 s"
echo "load:     autocannon, $CONNECTIONS connections, ${WARMUP} s warm-up + ${DURATION} s measured per run, $ROUNDS interleaved rounds"
echo

cd "$REPO"
"$PY" tests/servers.py start --env-file "$ENV_FILE" --fixtures >"$STATE/servers-start.log" 2>&1 ||
  { cat "$STATE/servers-start.log" >&2; exit 1; }
servers_started=1
set -a
# shellcheck disable=SC1090
. "$ENV_FILE"
set +a

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# $1 url: waits up to 30 s for a 200 answering {"length": 15}.
wait_ready() {
  local url=$1 body=""
  for _ in $(seq 300); do
    body="$(curl -fsS --max-time 5 "$url" 2>/dev/null || true)"
    if [[ "$body" == '{"length": 15}' || "$body" == '{"length":15}' ]]; then return 0; fi
    sleep 0.1
  done
  echo "$url did not answer {\"length\": 15} (last: ${body:-nothing})" >&2
  return 1
}

TARGETS=()
BASES=()
for variant in secretkit boto3 floor; do
  port="$(free_port)"
  FWB_VARIANT=$variant "$PY" -m gunicorn --workers "$WORKERS" --worker-class "$WORKER_CLASS" --threads 1 \
    --bind "127.0.0.1:$port" --chdir "$BENCH" --log-level warning \
    django_bench.wsgi:application >"$STATE/django-$variant.log" 2>&1 &
  APP_PIDS+=($!)
  TARGETS+=("django/$variant=http://127.0.0.1:$port/secret/")
  BASES+=("django/$variant=http://127.0.0.1:$port/calls/")
done
for variant in secretkit sdk floor; do
  port="$(free_port)"
  FWB_VARIANT=$variant PORT=$port node "$BENCH/express_app.js" >"$STATE/express-$variant.log" 2>&1 &
  APP_PIDS+=($!)
  TARGETS+=("express/$variant=http://127.0.0.1:$port/secret")
  BASES+=("express/$variant=http://127.0.0.1:$port/calls")
done
for target in "${TARGETS[@]}"; do wait_ready "${target#*=}"; done
# Each server's processes, for its CPU time: a gunicorn master and its
# workers (children, read from /proc), or the node process.
for i in "${!TARGETS[@]}"; do
  pid="${APP_PIDS[$i]}"
  for _ in $(seq 100); do
    pids="$pid $(cat "/proc/$pid/task/$pid/children" 2>/dev/null || true)"
    [[ "${TARGETS[$i]}" == express/* || $(wc -w <<<"$pids") -gt "$WORKERS" ]] && break
    sleep 0.1
  done
  TARGETS[i]="${TARGETS[$i]}@$(echo $pids | tr ' ' ',')"
done

(cd "$BENCH" && node load.mjs --rounds "$ROUNDS" --duration "$DURATION" --warmup "$WARMUP" \
  --connections "$CONNECTIONS" "${TARGETS[@]}")

# Backend calls per process after the runs: each reading variant should
# have called Secrets Manager about once per process (every request after
# the first was a cache hit).
echo
echo "backend calls per process after the runs (GET /calls, sampled):"
for base in "${BASES[@]}"; do
  seen="$(for _ in $(seq $((WORKERS * 4))); do curl -fsS --max-time 5 "${base#*=}"; echo; done |
    "$PY" -c 'import json, sys; d = {}
for line in sys.stdin:
    if line.strip():
        a = json.loads(line); d[a["pid"]] = a["backend_calls"]
print(", ".join(f"pid {p}: {c}" for p, c in sorted(d.items())))')"
  echo "  ${base%%=*}: $seen"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
