#!/usr/bin/env bash
# Install tests "as a user would" (issue 13): the release artifacts in dist/
# are published to a private PyPI (pypiserver) and a private npm registry
# (verdaccio, no uplinks) on loopback; then an unprivileged user with a fresh
# HOME and no cargo/rustc on PATH installs them by name, from those
# registries only, and reads the three example secrets from the running moto
# and OpenBao:
#   pip install secretkit        (new venv, wheels only)   -> Python program
#   npm install secretkit        (new project)             -> CJS and ESM programs
#   npm install secretkit-wasm   (new project)             -> Node ESM program
#
#   bash tests/install/run.sh
#
# Needs: root (creates the user and runs as it), the servers' variables
# exported (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_REGION, VAULT_ADDR, VAULT_TOKEN: scripts/test.sh sources the env file
# of tests/servers.py), artifacts in dist/ as scripts/package.sh lays them out:
#   dist/python/*.whl, *.tar.gz   dist/npm/*.tgz
# Environment:
#   SK_DIST            the artifacts (default: dist/ of this checkout)
#   SK_INSTALL_USER    the unprivileged user (default sk-install; created if missing)
#   SK_INSTALL_CACHE   the registries' own tools, kept between runs
#                      (default: .state/install-tests/ of this checkout)
#   SK_INSTALL_KEEP=1  keep the run's state directory (the user's HOME,
#                      registries' storage and logs); it is kept on failure anyway
# Prints a line per check and `install-tests: N passed, M failed`; exits 1 if
# any check failed.
# The user-side commands below are single-quoted on purpose: they expand in
# the user's shell, with arguments passed after them.
# shellcheck disable=SC2016
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DIST=$(cd "${SK_DIST:-$REPO/dist}" 2>/dev/null && pwd) || {
  echo "install-tests: no artifacts: ${SK_DIST:-$REPO/dist} does not exist (bash scripts/package.sh makes them)" >&2
  exit 1
}
CACHE=${SK_INSTALL_CACHE:-$REPO/.state/install-tests}
TEST_USER=${SK_INSTALL_USER:-sk-install}
# The registries' tools, pinned. verdaccio is pinned with its lock file in
# tests/install/ (6.8.0, node-fetch overridden to 2.7.0 for Node 20).
PY_TOOLS="pypiserver==2.4.2 twine==6.2.0"
# The user's PATH: the system's, where python3 and node live; no
# ~/.cargo/bin, and checked below.
USER_PATH=/usr/local/bin:/usr/bin:/bin
started=$SECONDS

say() { printf -- '--- install-tests: %s\n' "$*"; }
die() {
  printf 'install-tests: %s\n' "$*" >&2
  exit 1
}

# ---- preconditions -------------------------------------------------------
[[ $(id -u) == 0 ]] || die "run as root (it creates the user $TEST_USER and runs the installs as that user)"
for var in AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY VAULT_ADDR VAULT_TOKEN; do
  [[ -n ${!var:-} ]] || die "$var is not set: start the servers (tests/servers.py start --env-file F --fixtures) and export F's variables"
done
shopt -s nullglob
wheels=("$DIST"/python/*.whl)
sdists=("$DIST"/python/*.tar.gz)
tarballs=("$DIST"/npm/*.tgz)
shopt -u nullglob
((${#wheels[@]})) || die "no wheel in $DIST/python/"
((${#tarballs[@]})) || die "no npm tarball in $DIST/npm/"
# The platform package this machine's Node should get (napi-rs naming).
platform_pkg=secretkit-$(node -p "const r = process.report.getReport(); process.platform + '-' + process.arch + (process.platform === 'linux' ? (r.header.glibcVersionRuntime ? '-gnu' : '-musl') : '')")
for want in "secretkit-[0-9]*.tgz" "$platform_pkg-[0-9]*.tgz" "secretkit-wasm-[0-9]*.tgz"; do
  compgen -G "$DIST/npm/$want" >/dev/null || die "no $want in $DIST/npm/"
done

# ---- state, and stopping what we start -----------------------------------
STATE=$(mktemp -d /tmp/sk-install.XXXXXX)
chmod 755 "$STATE" # the user reaches its HOME below; nothing else in here is for it
mkdir -p "$STATE/logs"
pids=()
status=1
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ $status == 0 && ${SK_INSTALL_KEEP:-} != 1 ]]; then
    rm -rf "$STATE"
  else
    echo "install-tests: state kept in $STATE (logs in $STATE/logs/)"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$TOOLS_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_http URL NAME PID: until URL answers, or the server died, or 60 s.
wait_http() {
  local i
  for ((i = 0; i < 300; i++)); do
    if "$TOOLS_PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null; then
      return 0
    fi
    kill -0 "$3" 2>/dev/null || die "$2 exited at start: $(tail -n 20 "$STATE/logs/$2.log")"
    sleep 0.2
  done
  die "$2 did not answer at $1 within 60 s: $(tail -n 20 "$STATE/logs/$2.log")"
}

# ---- the registries' tools (cached; not what the user installs) ----------
t=$SECONDS
TOOLS="$CACHE/venv"
TOOLS_PY="$TOOLS/bin/python"
if [[ ! -x $TOOLS_PY || $(cat "$TOOLS/.sk-tools" 2>/dev/null) != "$PY_TOOLS" ]]; then
  say "installing $PY_TOOLS into $TOOLS"
  rm -rf "$TOOLS"
  mkdir -p "$CACHE"
  python3 -m venv "$TOOLS"
  # shellcheck disable=SC2086 # PY_TOOLS is a list of requirements
  "$TOOLS_PY" -m pip install --quiet --disable-pip-version-check $PY_TOOLS
  echo "$PY_TOOLS" >"$TOOLS/.sk-tools"
fi
lock_sum=$(sha256sum "$HERE/package-lock.json" | cut -c1-64)
if [[ $(cat "$HERE/node_modules/.sk-lock.sha256" 2>/dev/null) != "$lock_sum" ]]; then
  say "installing verdaccio (npm ci in tests/install/)"
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >"$HERE/node_modules/.sk-lock.sha256"
fi
say "registry tools ready ($((SECONDS - t)) s)"

# ---- the private registries ----------------------------------------------
t=$SECONDS
mkdir -p "$STATE/pypi/packages" "$STATE/npm"
pypi_port=$(free_port)
"$TOOLS/bin/pypi-server" run -i 127.0.0.1 -p "$pypi_port" -a . -P . --disable-fallback \
  "$STATE/pypi/packages" >"$STATE/logs/pypiserver.log" 2>&1 &
pids+=($!)
pypi_pid=$!
cp "$HERE/verdaccio.yaml" "$STATE/npm/config.yaml"
npm_port=$(free_port)
"$HERE/node_modules/.bin/verdaccio" --config "$STATE/npm/config.yaml" --listen "127.0.0.1:$npm_port" \
  >"$STATE/logs/verdaccio.log" 2>&1 &
pids+=($!)
npm_pid=$!
PYPI="http://127.0.0.1:$pypi_port"
NPM="http://127.0.0.1:$npm_port/"
wait_http "$PYPI/simple/" pypiserver "$pypi_pid"
wait_http "${NPM}-/ping" verdaccio "$npm_pid"
say "private PyPI at $PYPI/simple/, private npm registry at $NPM ($((SECONDS - t)) s)"

# ---- publish every artifact ----------------------------------------------
t=$SECONDS
say "publishing to the private PyPI: $(for f in "${wheels[@]}" "${sdists[@]}"; do printf '%s ' "${f##*/}"; done)"
# twine validates each distribution's metadata on the way, as for a release.
TWINE_USERNAME=publisher TWINE_PASSWORD=unused TWINE_NON_INTERACTIVE=1 \
  "$TOOLS/bin/twine" upload --disable-progress-bar --repository-url "$PYPI/" \
  "${wheels[@]}" "${sdists[@]}" >"$STATE/logs/twine.log" 2>&1 ||
  die "twine upload failed: $(tail -n 20 "$STATE/logs/twine.log")"
say "uploaded with twine ($((SECONDS - t)) s)"
# A publisher account on the npm registry (the only one it allows), through
# the API `npm adduser` uses.
npm_token=$("$TOOLS_PY" - "$NPM" <<'PY'
import json, secrets, sys, urllib.request
body = json.dumps({"name": "publisher", "password": secrets.token_hex(16)}).encode()
req = urllib.request.Request(sys.argv[1] + "-/user/org.couchdb.user:publisher", data=body,
                             method="PUT", headers={"content-type": "application/json"})
print(json.load(urllib.request.urlopen(req, timeout=10))["token"])
PY
)
printf '//127.0.0.1:%s/:_authToken=%s\n' "$npm_port" "$npm_token" >"$STATE/npm/publish.npmrc"
chmod 600 "$STATE/npm/publish.npmrc"
say "publishing to the private npm registry: $(for f in "${tarballs[@]}"; do printf '%s ' "${f##*/}"; done)"
# In parallel: each `npm publish` is mostly npm's own start-up.
publishers=()
for tgz in "${tarballs[@]}"; do
  npm publish "$tgz" --registry "$NPM" --userconfig "$STATE/npm/publish.npmrc" \
    --access public --no-provenance --loglevel=error >"$STATE/logs/npm-publish-${tgz##*/}.log" 2>&1 &
  publishers+=($!)
done
for i in "${!tarballs[@]}"; do
  wait "${publishers[$i]}" || die "npm publish ${tarballs[$i]##*/} failed: $(tail -n 20 "$STATE/logs/npm-publish-${tarballs[$i]##*/}.log")"
done
say "published ${#wheels[@]} wheel(s), ${#sdists[@]} sdist(s), ${#tarballs[@]} npm tarball(s) ($((SECONDS - t)) s)"

# ---- the user ------------------------------------------------------------
if ! id -u "$TEST_USER" >/dev/null 2>&1; then
  say "creating the unprivileged user $TEST_USER"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
    --user-group "$TEST_USER"
fi
[[ $(id -u "$TEST_USER") != 0 ]] || die "$TEST_USER is root"
[[ $(id -nG "$TEST_USER") == "$TEST_USER" ]] || die "$TEST_USER is in other groups: $(id -nG "$TEST_USER")"
UHOME="$STATE/home"
mkdir -p "$UHOME/tmp"
# The expected values come from tests/servers.py, which seeds them; the user
# reads them from its own copy. Never printed.
"$TOOLS_PY" - "$REPO/tests" >"$UHOME/expected.json" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
import servers
print(json.dumps({
    "ssm:" + servers.SSM_DB_PASSWORD[0]: servers.SSM_DB_PASSWORD[1],
    "asm:" + servers.ASM_DB_CREDENTIALS[0] + "#password": json.loads(servers.ASM_DB_CREDENTIALS[1])["password"],
    "vault:secret/" + servers.VAULT_CONFIG[0] + "#api_key": servers.VAULT_CONFIG[1]["api_key"],
}))
PY
cp "$HERE"/read.py "$HERE"/read.cjs "$HERE"/read.mjs "$HERE"/read-wasm.mjs "$HERE"/check-pkg.cjs "$HERE"/check-cli.py "$UHOME/"
# The agent and CLI: this machine's tarball (package.sh), unpacked by the user.
host=$(uname -m)-unknown-linux-gnu
agent_tgz=$(compgen -G "$DIST/bin/secretkit-*-$host.tar.gz" | head -1 || true)
[[ -n $agent_tgz ]] && cp "$agent_tgz" "$UHOME/secretkit.tar.gz"
# npm: the private registry and nothing else; package-lock.json keeps the
# URLs (this machine's global npmrc turns them off: the user's file wins).
cat >"$UHOME/.npmrc" <<EOF
registry=$NPM
omit-lockfile-registry-resolved=false
update-notifier=false
EOF
chown -R "$TEST_USER:" "$UHOME"
chmod 700 "$UHOME"

# as_user CMD...: CMD as the user, in a clean environment: HOME, PATH, the
# servers' variables. A proxy that refuses everything but loopback makes any
# attempt to reach a public registry fail at once.
server_env=()
for var in AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION \
  AWS_DEFAULT_REGION AWS_EC2_METADATA_DISABLED VAULT_ADDR VAULT_TOKEN; do
  [[ -z ${!var:-} ]] || server_env+=("$var=${!var}")
done
as_user() {
  runuser -u "$TEST_USER" -- env -i HOME="$UHOME" USER="$TEST_USER" LOGNAME="$TEST_USER" \
    PATH="$USER_PATH" LANG=C.UTF-8 TMPDIR="$UHOME/tmp" \
    HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
    http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
    NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost \
    PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "${server_env[@]}" bash -c 'cd "$HOME" && "$@"' as_user "$@"
}

# ---- checks --------------------------------------------------------------
passed=0
failed=0
results=()
# check NAME CMD...: CMD as the user; its output goes to the console too.
check() {
  local name=$1 t0=$SECONDS rc=0
  shift
  printf '\n=== %s\n' "$name"
  as_user "$@" 2>&1 | tee "$STATE/logs/check-$((passed + failed + 1)).log" || rc=$?
  if ((rc == 0)); then
    passed=$((passed + 1))
    results+=("  ok    $name ($((SECONDS - t0)) s)")
  else
    failed=$((failed + 1))
    results+=("  FAIL  $name ($((SECONDS - t0)) s)")
  fi
  return "$rc"
}
# Marks a check that could not run because the one it needs failed.
not_run() {
  failed=$((failed + 1))
  results+=("  FAIL  $1 (not run: $2 failed)")
}

check "no Rust toolchain on the user's PATH" bash -c '
  id; echo "PATH=$PATH"
  echo "python3 $(python3 -c "import platform; print(platform.python_version())"), node $(node --version), npm $(npm --version)"
  if command -v cargo rustc rustup; then echo "found a Rust toolchain"; exit 1; fi
  echo "cargo, rustc, rustup: not found"' || true

# Python: a new venv, `pip install secretkit` from the private index only,
# wheels only (the sdist would need Rust).
if check "python: pip install secretkit (private PyPI, wheels only)" bash -c '
  set -e
  python3 -m venv py
  py/bin/pip install --no-input --index-url "$1/simple/" --only-binary :all: secretkit
  py/bin/pip show secretkit | sed -n "s/^\(Name\|Version\|Location\): /  \1: /p"
  sed -n "s/^Tag: /  wheel tag: /p" py/lib/python3*/site-packages/secretkit-*.dist-info/WHEEL' \
  _ "$PYPI"; then
  check "python: read the three example secrets" py/bin/python read.py expected.json || true
else
  not_run "python: read the three example secrets" "pip install"
fi

# Node: `npm install secretkit`; the platform package comes through the
# registry as an optionalDependency, as from the public one.
if check "node: npm install secretkit (private registry; $platform_pkg through optionalDependencies)" bash -c '
  set -e
  mkdir app && cd app
  npm init -y >/dev/null
  npm install secretkit --no-audit --no-fund
  node ../check-pkg.cjs . secretkit "$1" "$2"' _ "$NPM" "$platform_pkg"; then
  check "node: CJS require('secretkit') reads the three example secrets" \
    bash -c 'cp read.cjs app/ && cd app && node read.cjs ../expected.json "$1"' _ "$platform_pkg" || true
  check "node: ESM import from 'secretkit' reads the three example secrets" \
    bash -c 'cp read.mjs app/ && cd app && node read.mjs ../expected.json "$1"' _ "$platform_pkg" || true
else
  not_run "node: CJS require('secretkit') reads the three example secrets" "npm install secretkit"
  not_run "node: ESM import from 'secretkit' reads the three example secrets" "npm install secretkit"
fi

# WASM: `npm install secretkit-wasm`, read from Node (ESM; explicit config).
if check "wasm: npm install secretkit-wasm (private registry)" bash -c '
  set -e
  mkdir edge && cd edge
  npm init -y >/dev/null
  npm install secretkit-wasm --no-audit --no-fund
  node ../check-pkg.cjs . secretkit-wasm "$1"' _ "$NPM"; then
  check "wasm: Node ESM import from 'secretkit-wasm' reads the three example secrets" \
    bash -c 'cp read-wasm.mjs edge/ && cd edge && node read-wasm.mjs ../expected.json' || true
else
  not_run "wasm: Node ESM import from 'secretkit-wasm' reads the three example secrets" "npm install secretkit-wasm"
fi

# ---- the agent and CLI binary ---------------------------------------------
if [[ -n $agent_tgz ]]; then
  check "agent/CLI: the secretkit binary from its tarball reads the three example secrets" bash -c '
    mkdir -p bin && tar -xzf secretkit.tar.gz -C bin --strip-components=1 &&
    bin/secretkit get --reveal --json $(python3 -c "import json; print(*json.load(open(\"expected.json\")))") |
      python3 check-cli.py expected.json' || true
else
  not_run "agent/CLI: the secretkit binary from its tarball reads the three example secrets" "no dist/bin tarball"
fi

# ---- sizes and summary ---------------------------------------------------
size() { if [[ -e $1 ]]; then echo "$(du -sk "$1" | cut -f1) KiB"; else echo -; fi; }
site=$(compgen -G "$UHOME/py/lib/python3*/site-packages" || true)
echo
say "install sizes (du -sk)"
echo "  python venv site-packages/secretkit: $(size "$site/secretkit")"
echo "  node app/node_modules (secretkit + $platform_pkg): $(size "$UHOME/app/node_modules")" \
  "(secretkit $(size "$UHOME/app/node_modules/secretkit"), $platform_pkg $(size "$UHOME/app/node_modules/$platform_pkg"))"
echo "  wasm edge/node_modules (secretkit-wasm): $(size "$UHOME/edge/node_modules")"
echo
say "results"
printf '%s\n' "${results[@]}"
echo "install tests took $((SECONDS - started)) s"
echo "install-tests: $passed passed, $failed failed"
((failed == 0)) && status=0
exit "$status"
