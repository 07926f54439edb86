#!/usr/bin/env bash
# secretkit next to the libraries users pick instead, per runtime, in one run:
# cache-hit latency, backend calls for concurrent cold reads, the slowest read
# across refreshes with a slow backend (+20 ms, bench/compare/delay_proxy.py),
# cold start, and RSS growth over many hits. Prints one table per runtime and
# writes them as a markdown fragment for BENCHMARKS.md.
#
#   bash bench/compare.sh
#
# The peers are installed into a scratch directory, never the repository:
# ${COMPARE_DIR:-/tmp/secretkit-compare}/venv (python3 -m venv: boto3,
# aws-secretsmanager-caching 1.2.0, aws-lambda-powertools 3.37.0, hvac, and
# the newest secretkit wheel of target/wheels-host/ or wheels-dev/) and .../node (the AWS SDK v3,
# Powertools parameters 2.x, node-vault; secretkit is loaded from
# bindings-node as built). Nothing is built here.
#
# Servers: the ones in the environment if AWS_ENDPOINT_URL is set (with
# VAULT_ADDR and VAULT_TOKEN, from a sourced tests/servers.py env file), else
# its own (tests/servers.py start --fixtures), stopped at the end.
#
# Environment: COMPARE_OUT (markdown, default $COMPARE_DIR/compare.md),
# COMPARE_HIT_RUNS (7), COMPARE_HIT_SECONDS (0.3, Python), COMPARE_NODE_HIT_N
# (200000 reads per Node round), COMPARE_COLD_SIZES ("64 10000"),
# COMPARE_REFRESH_SECONDS (10), COMPARE_DELAY_MS (20), COMPARE_RSS_HITS
# (1000000), COMPARE_RSS_MAX_SECONDS (60, a cap per library),
# COMPARE_COLD_START_RUNS (10), COMPARE_PAUSE_PIDS (pids to SIGSTOP during the
# run, e.g. a background job sharing the cores; always SIGCONT'd at exit).
set -euo pipefail

# The command as given (before the defaults below fill the variables in).
COMMAND="bash bench/compare.sh"
for var in COMPARE_DIR COMPARE_OUT COMPARE_HIT_RUNS COMPARE_HIT_SECONDS COMPARE_NODE_HIT_N COMPARE_COLD_SIZES \
  COMPARE_REFRESH_SECONDS COMPARE_DELAY_MS COMPARE_RSS_HITS COMPARE_RSS_MAX_SECONDS COMPARE_COLD_START_RUNS \
  COMPARE_PAUSE_PIDS; do
  if [[ -n "${!var:-}" ]]; then COMMAND="$var=${!var@Q} $COMMAND"; fi
done
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$REPO/bench/compare"
COMPARE_DIR="${COMPARE_DIR:-/tmp/secretkit-compare}"
COMPARE_OUT="${COMPARE_OUT:-$COMPARE_DIR/compare.md}"
VENV="$COMPARE_DIR/venv"
NODE_PROJECT="$COMPARE_DIR/node"
REPO_PY="$REPO/.venv/bin/python" # has moto and OpenBao for tests/servers.py

mkdir -p "$COMPARE_DIR" "$(dirname "$COMPARE_OUT")"
STATE="$(mktemp -d /tmp/secretkit-compare-run.XXXXXX)"
chmod 755 "$STATE" # tests/servers.py's PostgreSQL user must be able to enter it
PROXY_PIDS=()
servers_started=0
paused=()

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${PROXY_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if ((servers_started)); then
    "$REPO_PY" "$REPO/tests/servers.py" stop --env-file "$STATE/servers.env" >/dev/null 2>&1 || true
  fi
  for pid in "${paused[@]}"; do kill -CONT "$pid" 2>/dev/null || true; done
  if ((status == 0)); then rm -rf "$STATE"; else echo "compare.sh failed; logs in $STATE" >&2; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started_at=$(date +%s)
load() { cut -d' ' -f1-3 /proc/loadavg; }
MACHINE="$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
echo "# secretkit compared with the peers"
echo "command: $COMMAND"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$REPO" rev-parse --short HEAD)"
echo "machine: $MACHINE (nproc $(nproc))"
echo "uptime: $(uptime)"
echo

# ---- peers, in the scratch directory ------------------------------------------
# An install that fails is reported; the scripts then print n/a for its rows.
if [[ ! -x "$VENV/bin/python" ]]; then python3 -m venv "$VENV"; fi
for req in boto3 aws-secretsmanager-caching==1.2.0 aws-lambda-powertools==3.37.0 hvac; do
  "$VENV/bin/pip" install -q --disable-pip-version-check "$req" >"$STATE/pip.log" 2>&1 ||
    echo "could not install $req (its rows will say n/a): $(tail -n1 "$STATE/pip.log")" >&2
done
# The newest wheel: scripts/build-bindings.sh writes target/wheels-host/, a
# developer's maturin build often target/wheels-dev/.
WHEEL="$(ls -t "$REPO"/target/wheels-host/secretkit-*.whl "$REPO"/target/wheels-dev/secretkit-*.whl 2>/dev/null | head -n1 || true)"
[[ -n "$WHEEL" ]] || { echo "no secretkit wheel in target/wheels-host/ or target/wheels-dev/ (scripts/build-bindings.sh makes it)" >&2; exit 1; }
# The wheel may be rebuilt with the same version number: always reinstall it.
"$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall "$WHEEL"
WHEEL_NOTE="$("$VENV/bin/python" - "$WHEEL" "$REPO/.venv" <<'EOF'
# Is the wheel the build installed in the repository's .venv? Compare the native module.
import glob, hashlib, sys, zipfile
wheel, repo_venv = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.startswith("secretkit/_native"))
    ours = hashlib.sha256(z.read(name)).hexdigest()
theirs = [hashlib.sha256(open(p, "rb").read()).hexdigest()
          for p in glob.glob(f"{repo_venv}/lib/python3*/site-packages/{name}")]
print("the build installed in .venv" if ours in theirs else "NOT the build installed in .venv")
EOF
)"

mkdir -p "$NODE_PROJECT"
[[ -f "$NODE_PROJECT/package.json" ]] || echo '{ "name": "secretkit-compare", "private": true }' >"$NODE_PROJECT/package.json"
for pkg in @aws-sdk/client-secrets-manager@^3 @aws-sdk/client-ssm@^3 @aws-lambda-powertools/parameters@^2 node-vault@^0.12; do
  [[ -d "$NODE_PROJECT/node_modules/${pkg%@*}" ]] && continue
  (cd "$NODE_PROJECT" && npm install --no-audit --no-fund --loglevel=error "$pkg") >"$STATE/npm.log" 2>&1 ||
    echo "could not install $pkg (its rows will say n/a): $(tail -n1 "$STATE/npm.log")" >&2
done

py_version() { "$VENV/bin/python" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$1" 2>/dev/null || echo "not installed"; }
npm_version() { node -p "require('$NODE_PROJECT/node_modules/$1/package.json').version" 2>/dev/null || echo "not installed"; }
PY_VERSIONS="Python $("$VENV/bin/python" -c 'import platform; print(platform.python_version())'): secretkit $(py_version secretkit) ($(basename "$WHEEL"), $WHEEL_NOTE), boto3 $(py_version boto3), aws-secretsmanager-caching $(py_version aws-secretsmanager-caching), aws-lambda-powertools $(py_version aws-lambda-powertools), hvac $(py_version hvac)"
NODE_VERSIONS="Node $(node --version): secretkit from bindings-node, @aws-sdk/client-secrets-manager $(npm_version @aws-sdk/client-secrets-manager), @aws-sdk/client-ssm $(npm_version @aws-sdk/client-ssm), @aws-lambda-powertools/parameters $(npm_version @aws-lambda-powertools/parameters), node-vault $(npm_version node-vault)"
echo "$PY_VERSIONS"
echo "$NODE_VERSIONS"

# ---- servers and the delay proxies ---------------------------------------------
if [[ -z "${AWS_ENDPOINT_URL:-}" ]]; then
  "$REPO_PY" "$REPO/tests/servers.py" start --env-file "$STATE/servers.env" --fixtures >"$STATE/servers.log" 2>&1 ||
    { cat "$STATE/servers.log" >&2; exit 1; }
  servers_started=1
  set -a
  # shellcheck disable=SC1091
  . "$STATE/servers.env"
  set +a
  SERVERS="started by compare.sh with --fixtures"
else
  : "${VAULT_ADDR:?AWS_ENDPOINT_URL is set but VAULT_ADDR is not: source a tests/servers.py env file}"
  : "${VAULT_TOKEN:?VAULT_TOKEN is not set}"
  SERVERS="from the environment"
fi
echo "servers: moto $AWS_ENDPOINT_URL, OpenBao $VAULT_ADDR ($SERVERS)"

start_proxy() { # $1 upstream, $2 name: sets PROXY_URL
  "$VENV/bin/python" "$HERE/delay_proxy.py" --target "$1" --delay-ms "${COMPARE_DELAY_MS:-20}" \
    --port-file "$STATE/$2.port" >"$STATE/$2.log" 2>&1 &
  PROXY_PIDS+=($!)
  for _ in $(seq 100); do [[ -s "$STATE/$2.port" ]] && break; sleep 0.05; done
  [[ -s "$STATE/$2.port" ]] || { echo "delay proxy $2 did not start" >&2; exit 1; }
  PROXY_URL="http://127.0.0.1:$(cat "$STATE/$2.port")"
}
start_proxy "$AWS_ENDPOINT_URL" aws-proxy
export DELAY_AWS_URL="$PROXY_URL"
start_proxy "$VAULT_ADDR" vault-proxy
export DELAY_VAULT_URL="$PROXY_URL"
echo "delay proxies (+${COMPARE_DELAY_MS:-20} ms per request): $DELAY_AWS_URL -> moto, $DELAY_VAULT_URL -> OpenBao"

for pid in ${COMPARE_PAUSE_PIDS:-}; do
  kill -STOP "$pid" && paused+=("$pid") && echo "paused pid $pid for the run (SIGCONT at exit)"
done
LOAD_BEFORE="$(load)"
echo "load before the measurements: $LOAD_BEFORE"
echo

# ---- measurements ---------------------------------------------------------------
echo "cold start (bench/cold_start.py)..." >&2
"$VENV/bin/python" "$REPO/bench/cold_start.py" --runs "${COMPARE_COLD_START_RUNS:-10}" >"$STATE/cold_start.txt"
echo "Python..." >&2
"$VENV/bin/python" "$HERE/python_compare.py" --out "$STATE/python.json"
echo "Node..." >&2
COMPARE_NODE_MODULES="$NODE_PROJECT/node_modules" SECRETKIT_NODE_DIR="$REPO/bindings-node" \
  node "$HERE/node_compare.mjs" --out "$STATE/node.json" 2> >(grep -v -e NodeVersionSupportWarning -e 'node >=22' -e 'a.co/' -e 'trace-warnings' -e '^$' -e 'versions published after' -e 'To continue receiving' -e 'and security updates' >&2)
TABLES="$("$VENV/bin/python" "$HERE/render.py" --python "$STATE/python.json" --node "$STATE/node.json" --cold-start "$STATE/cold_start.txt")"
LOAD_AFTER="$(load)"
took=$(($(date +%s) - started_at))

# ---- the markdown fragment --------------------------------------------------------
{
  echo "## Comparison with the peers (bench/compare.sh)"
  echo
  echo "\`$COMMAND\` — $(date -u +%Y-%m-%d), commit $(git -C "$REPO" rev-parse --short HEAD), run took $((took / 60)) min $((took % 60)) s."
  echo "Machine: $MACHINE. Load average (1/5/15 min) $LOAD_BEFORE before the measurements, $LOAD_AFTER after (Linux counts runnable threads, so this includes the run's own, up to 10,000 in row 2)${paused:+; pids ${paused[*]} (a background job) paused with SIGSTOP during the run}."
  echo "Servers: moto and OpenBao of \`tests/servers.py\` ($SERVERS) on loopback; the slow-backend rows go through \`bench/compare/delay_proxy.py\` (+${COMPARE_DELAY_MS:-20} ms per request, requests counted there)."
  echo
  echo "- $PY_VERSIONS"
  echo "- $NODE_VERSIONS; cold start runs in \`bindings-node\` with its own AWS SDK v3 (devDependency)"
  echo
  echo "Each row's ratio is its figure ÷ secretkit's on the same backend in this run (lower is better for every measurement)."
  echo "Peers are used the way their docs and users do: boto3 / the AWS SDK v3 / hvac / node-vault behind a hand-written TTL dict or Map (TTL 300 s; 1 s in row 3), aws-secretsmanager-caching's \`SecretCache\`, Powertools' \`get_secret\` / \`get_parameter\` / providers with \`max_age\`."
  echo "Cache hits: median of ${COMPARE_HIT_RUNS:-7} runs (Python: \`timeit\` loops of ~${COMPARE_HIT_SECONDS:-0.3} s each, \`bindings-python/bench/cache_hit.py\`'s \`measure\`; Node: interleaved rounds of ${COMPARE_NODE_HIT_N:-200000} awaited reads). Cold reads: backend calls counted by secretkit's \`stats()\`, a botocore \`before-call\` hook, an SDK v3 middleware, or the TTL cache's own fetch counter. Cold start: \`bench/cold_start.py --runs ${COMPARE_COLD_START_RUNS:-10}\` (median of interleaved runs). RSS: one process per library, RSS after 10,000 warm-up hits and a GC, then after the hits and a GC."
  echo
  echo "$TABLES"
} >"$COMPARE_OUT"

echo
cat "$COMPARE_OUT"
echo
echo "written to $COMPARE_OUT (run took ${took} s)"
