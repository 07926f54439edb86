#!/usr/bin/env bash
# Install size and time: secretkit next to what a user would install instead
# (issue 13, "Measured"), side by side in one run. A benchmark: not part of
# the test command.
#
#   bash scripts/bench-install.sh
#   SK_DIST=target/dist-all SK_BENCH_N=5 nice -n 10 bash scripts/bench-install.sh
#
# Environment:
#   SK_DIST          the artifacts (default dist/): python/*.whl, npm/*.tgz
#                    as scripts/package.sh lays them out
#   SK_BENCH_N       repetitions; every figure is the median of them (default 5)
#   SK_BENCH_DIR     working directory (default target/bench-install); the
#                    verdaccio it installs there is kept between runs
#   SK_BENCH_PYTHON  the interpreter the venvs are made from (default python3)
#
# Python: the secretkit wheel vs boto3 + hvac (SSM / Secrets Manager + Vault).
#   Every wheel is on disk first (`pip download boto3 hvac` into a fresh
#   wheelhouse; secretkit's wheel from $SK_DIST/python), so the network is
#   not in the timing. Each repetition makes a fresh venv (not timed) and
#   times `pip install --no-index --find-links ... --only-binary :all:
#   --no-cache-dir` with the venv's own pip. pip's default byte-compilation
#   is kept (it is what a user pays, and the .pyc files are on disk
#   afterwards); the same install with --no-compile is timed too, in its own
#   fresh venvs, to show how much of the time that is. Sizes: the wheels pip
#   installed (from `pip install --report`), and the regular files the
#   install added to the venv (site-packages and bin/): their sizes summed,
#   their number, and du's disk usage (whole blocks). Import: in-process
#   time.perf_counter() around `import secretkit` vs `import boto3, hvac`,
#   and to the point of having clients (secretkit.Client.from_env() vs
#   boto3.client('ssm') + boto3.client('secretsmanager') + hvac.Client()).
#
# Node: the npm packages vs @aws-sdk/client-ssm + @aws-sdk/client-secrets-
#   manager + node-vault. secretkit's tarballs are published to a private
#   verdaccio (loopback, no uplinks) so that `npm install secretkit` resolves
#   its platform package through optionalDependencies as it would from the
#   public registry; the peers come from the public registry. A fresh npm
#   cache is warmed by one install of each, verdaccio is stopped, then each
#   repetition makes a fresh project and times `npm install <pkgs> --offline
#   --no-audit --no-fund` (everything from the warm cache, no network).
#   Sizes: the regular files in node_modules (summed, counted, and du's
#   disk usage), the packages installed (the
#   hidden lockfile, entries present on disk) and the tarball bytes npm
#   unpacked (their cache entries, by integrity). Load: in-process time
#   around require('secretkit') vs requiring the three peers (secretkit-wasm:
#   `await import()`, it is ESM with a top-level await that instantiates the
#   .wasm), and to the point of having clients.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
DIST=$(realpath "${SK_DIST:-$REPO/dist}")
N=${SK_BENCH_N:-5}
WORK=${SK_BENCH_DIR:-$REPO/target/bench-install}
PY=${SK_BENCH_PYTHON:-python3}
PY_PEERS=(boto3 hvac)
NODE_PEERS=(@aws-sdk/client-ssm @aws-sdk/client-secrets-manager node-vault)
export LC_ALL=C
# The machine's pip configuration must not add package sources.
unset PIP_FIND_LINKS PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_NO_INDEX PIP_REQUIRE_VIRTUALENV
export PIP_DISABLE_PIP_VERSION_CHECK=1
started=$SECONDS

say() { echo "--- bench-install: $*" >&2; }
die() {
  echo "bench-install.sh: $*" >&2
  exit 1
}
[[ $N =~ ^[1-9][0-9]*$ ]] || die "SK_BENCH_N must be a positive integer, not '$N'"
for tool in "$PY" node npm /usr/bin/time; do
  command -v "$tool" >/dev/null || die "$tool not found"
done

shopt -s nullglob
wheels=("$DIST"/python/secretkit-*.whl)
npm_tgz=("$DIST"/npm/secretkit-*.tgz)
shopt -u nullglob
((${#wheels[@]})) || die "no secretkit wheel in $DIST/python/ (scripts/package.sh builds them)"
((${#npm_tgz[@]})) || die "no npm tarball in $DIST/npm/ (scripts/package.sh builds them)"
main_tgz=$(printf '%s\n' "${npm_tgz[@]}" | grep -E '/secretkit-[0-9][^/]*\.tgz$' | head -1) ||
  die "no secretkit-<version>.tgz in $DIST/npm/"
wasm_tgz=$(printf '%s\n' "${npm_tgz[@]}" | grep -E '/secretkit-wasm-[0-9][^/]*\.tgz$' | head -1) ||
  die "no secretkit-wasm-<version>.tgz in $DIST/npm/"

mkdir -p "$WORK"
WORK=$(realpath "$WORK")
# Two runs in one working directory would delete each other's venvs and mix
# their results.
exec 9>"$WORK/.lock"
flock -n 9 || die "another bench-install.sh is running in $WORK (SK_BENCH_DIR picks another)"
RES="$WORK/results.tsv"
LOGS="$WORK/logs"
rm -rf "$LOGS" "$WORK/py" "$WORK/node" "$RES"
mkdir -p "$LOGS" "$WORK/py" "$WORK/node"
: >"$RES"
verdaccio_pid=
cleanup() {
  if [[ -n $verdaccio_pid ]]; then
    kill "$verdaccio_pid" 2>/dev/null || true
    wait "$verdaccio_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# rec KEY VALUE: one measurement (KEY: lang.side.metric).
rec() { printf '%s\t%s\n' "$1" "$2" >>"$RES"; }
# timed KEY LOG CMD...: run CMD (output in LOG) under GNU time; record its
# wall time (KEY.wall) and CPU time, user + system, children included (KEY.cpu).
timed() {
  local key=$1 log=$2 wall user sys
  shift 2
  /usr/bin/time -f '%e %U %S' -o "$WORK/time.out" "$@" >"$log" 2>&1 ||
    die "failed: $* (log $log): $(tail -n 30 "$log")"
  read -r wall user sys <"$WORK/time.out"
  rec "$key.wall" "$wall"
  rec "$key.cpu" "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
}
# files_stats DIR: "<bytes> <files> <disk bytes>": the sizes of the regular
# files under DIR, their number, and what du counts (whole blocks).
files_stats() {
  local disk
  disk=$(du -s --block-size=1 "$1" | cut -f1)
  find "$1" -type f -printf '%s\n' | awk -v d="$disk" '{ s += $1; n++ } END { printf "%d %d %d\n", s, n, d }'
}
# run LOG CMD...: CMD with its output in LOG; on failure, LOG's tail and exit.
run() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 || die "failed: $* (log $log): $(tail -n 30 "$log")"
}

load_env=(env AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=bench
  AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true
  VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=bench)

say "artifacts from $DIST (${wheels[*]##*/}; ${main_tgz##*/}, ${wasm_tgz##*/}); N=$N; load $(cut -d' ' -f1-3 /proc/loadavg)"

# ============================================================== Python
WH="$WORK/py/wheelhouse"
say "python: pip download ${PY_PEERS[*]} into a fresh wheelhouse (network; not timed)"
run "$LOGS/pip-download.log" "$PY" -m pip download --only-binary :all: -d "$WH" "${PY_PEERS[@]}"

# py_install SIDE VARIANT: a fresh venv (not timed), then the timed install.
py_install() {
  local side=$1 variant=$2 venv="$WORK/py/venv-$1-$2" pkgs flags=() b0 f0 d0 b1 f1 d1
  if [[ $side == sk ]]; then pkgs=(secretkit); else pkgs=("${PY_PEERS[@]}"); fi
  [[ $variant == nocompile ]] && flags=(--no-compile)
  rm -rf "$venv"
  run "$LOGS/venv.log" "$PY" -m venv "$venv"
  read -r b0 f0 d0 < <(files_stats "$venv")
  timed "py.$side.install.$variant" "$LOGS/pip-$side-$variant.log" "$venv/bin/python" -m pip install \
    --no-index --find-links "$WH" --find-links "$DIST/python" --only-binary :all: --no-cache-dir \
    --report "$WORK/py/report-$side.json" "${flags[@]}" "${pkgs[@]}"
  read -r b1 f1 d1 < <(files_stats "$venv")
  if [[ $variant == compile ]]; then
    rec "py.$side.installed_bytes" $((b1 - b0))
    rec "py.$side.files" $((f1 - f0))
    rec "py.$side.disk_bytes" $((d1 - d0))
  fi
}

for ((i = 1; i <= N; i++)); do
  say "python: repetition $i/$N (load $(cut -d' ' -f1 /proc/loadavg))"
  # Alternate which side goes first, so a change in load hits both.
  if ((i % 2)); then order=(sk peers); else order=(peers sk); fi
  for variant in compile nocompile; do
    for side in "${order[@]}"; do py_install "$side" "$variant"; done
  done
done

# What pip installed (name, version, wheel, bytes), from its report.
for side in sk peers; do
  "$PY" - "$WORK/py/report-$side.json" "$side" "$RES" <<'PY'
import json, os, sys, urllib.parse, urllib.request
report, side, res = sys.argv[1:]
items = json.load(open(report))["install"]
total = 0
with open(res, "a") as out:
    for item in items:
        path = urllib.request.url2pathname(urllib.parse.urlparse(item["download_info"]["url"]).path)
        size = os.path.getsize(path)
        total += size
        out.write(f"py.{side}.pkg\t{item['metadata']['name']} {item['metadata']['version']} {os.path.basename(path)} {size}\n")
    out.write(f"py.{side}.wheels\t{len(items)}\npy.{side}.wheel_bytes\t{total}\n")
PY
done
"$WORK/py/venv-sk-compile/bin/python" -m pip --version | awk '{ print "py.pip\t" $2 }' >>"$RES"
"$WORK/py/venv-sk-compile/bin/python" -c 'import platform; print("py.python\t" + platform.python_version())' >>"$RES"

say "python: import time, $N+1 runs each (the first one dropped)"
PY_SK='import time
t0 = time.perf_counter()
import secretkit
t1 = time.perf_counter()
client = secretkit.Client.from_env()
t2 = time.perf_counter()
print(f"{(t1 - t0) * 1e3:.3f} {(t2 - t0) * 1e3:.3f}")
client.close()'
PY_PEERS_LOAD='import time
t0 = time.perf_counter()
import boto3, hvac
t1 = time.perf_counter()
ssm = boto3.client("ssm")
asm = boto3.client("secretsmanager")
vault = hvac.Client(url="http://127.0.0.1:8200", token="bench")
t2 = time.perf_counter()
print(f"{(t1 - t0) * 1e3:.3f} {(t2 - t0) * 1e3:.3f}")'
for ((i = 0; i <= N; i++)); do
  for side in sk peers; do
    if [[ $side == sk ]]; then code=$PY_SK; else code=$PY_PEERS_LOAD; fi
    read -r imp cli < <("${load_env[@]}" "$WORK/py/venv-$side-compile/bin/python" -c "$code" 2>>"$LOGS/load.log")
    [[ -n ${cli:-} ]] || die "python: the $side import timing printed nothing: $(tail -n 20 "$LOGS/load.log")"
    if ((i)); then
      rec "py.$side.import_ms" "$imp"
      rec "py.$side.client_ms" "$cli"
    fi
  done
done

# ============================================================== Node
VERDACCIO_DIR="$WORK/tools/verdaccio"
VERDACCIO="$VERDACCIO_DIR/node_modules/.bin/verdaccio"
if [[ ! -x $VERDACCIO ]]; then
  say "node: installing verdaccio 6.8.0 into $VERDACCIO_DIR (once; kept between runs)"
  rm -rf "$VERDACCIO_DIR"
  mkdir -p "$VERDACCIO_DIR"
  # node-fetch 2.7.0: the override verdaccio 6.8.0 needs on Node 20 (issue 13).
  cat >"$VERDACCIO_DIR/package.json" <<'JSON'
{ "name": "sk-bench-verdaccio", "version": "0.0.0", "private": true,
  "dependencies": { "verdaccio": "6.8.0" }, "overrides": { "node-fetch": "2.7.0" } }
JSON
  (cd "$VERDACCIO_DIR" && run "$LOGS/verdaccio-install.log" npm install --no-audit --no-fund --loglevel=error)
fi

REG="$WORK/node/registry"
mkdir -p "$REG"
cat >"$REG/config.yaml" <<'YAML'
# No uplinks: a package not published here is a 404, never a public fetch.
storage: ./storage
auth:
  htpasswd:
    file: ./htpasswd
    max_users: 1
uplinks: {}
packages:
  '**':
    access: $all
    publish: $authenticated
web:
  enable: false
middlewares:
  audit:
    enabled: false
log: { type: stdout, format: pretty, level: warn }
YAML
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
NPM_REG="http://127.0.0.1:$port/"
"$VERDACCIO" --config "$REG/config.yaml" --listen "127.0.0.1:$port" >"$LOGS/verdaccio.log" 2>&1 &
verdaccio_pid=$!
for ((i = 0; ; i++)); do
  "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "${NPM_REG}-/ping" \
    2>/dev/null && break
  kill -0 "$verdaccio_pid" 2>/dev/null || die "verdaccio exited: $(tail -n 20 "$LOGS/verdaccio.log")"
  ((i < 300)) || die "verdaccio did not answer within 60 s"
  sleep 0.2
done
token=$("$PY" - "$NPM_REG" <<'PY'
import json, secrets, sys, urllib.request
body = json.dumps({"name": "bench", "password": secrets.token_hex(16)}).encode()
req = urllib.request.Request(sys.argv[1] + "-/user/org.couchdb.user:bench", data=body,
                             method="PUT", headers={"content-type": "application/json"})
print(json.load(urllib.request.urlopen(req, timeout=10))["token"])
PY
)
printf '//127.0.0.1:%s/:_authToken=%s\n' "$port" "$token" >"$REG/publish.npmrc"
say "node: publishing ${#npm_tgz[@]} tarball(s) to verdaccio at $NPM_REG"
for tgz in "${npm_tgz[@]}"; do
  run "$LOGS/publish-${tgz##*/}.log" npm publish "$tgz" --registry "$NPM_REG" \
    --userconfig "$REG/publish.npmrc" --access public --no-provenance --loglevel=error
done

CACHE="$WORK/node/npm-cache"
# npm_for SIDE: the install arguments of SIDE (its packages, its registry).
npm_for() {
  case $1 in
  sk) echo secretkit --registry "$NPM_REG" ;;
  wasm) echo secretkit-wasm --registry "$NPM_REG" ;;
  peers) echo "${NODE_PEERS[@]}" ;;
  esac
}
new_project() {
  rm -rf "$1"
  mkdir -p "$1"
  echo '{ "name": "bench-project", "version": "1.0.0", "private": true }' >"$1/package.json"
}
say "node: warming a fresh npm cache (network for the peers; not timed)"
for side in sk wasm peers; do
  new_project "$WORK/node/warm-$side"
  # shellcheck disable=SC2046 # npm_for prints a word list
  (cd "$WORK/node/warm-$side" && run "$LOGS/npm-warm-$side.log" npm install $(npm_for "$side") \
    --cache "$CACHE" --no-audit --no-fund --loglevel=error)
done
kill "$verdaccio_pid"
wait "$verdaccio_pid" 2>/dev/null || true
verdaccio_pid=
say "node: verdaccio stopped; every timed install is --offline, from the cache"

cat >"$WORK/node/stats.cjs" <<'JS'
// node stats.cjs PROJECT CACHE: "<packages> <tarball bytes> <missing>" of
// what is installed in PROJECT/node_modules (its hidden lockfile, entries
// present on disk; tarballs looked up in npm's cache by integrity).
const fs = require('node:fs')
const path = require('node:path')
const [project, cache] = process.argv.slice(2)
const lock = JSON.parse(fs.readFileSync(path.join(project, 'node_modules/.package-lock.json'), 'utf8'))
let packages = 0, bytes = 0, missing = 0
for (const [where, entry] of Object.entries(lock.packages)) {
  if (!where.includes('node_modules/') || entry.link) continue
  if (!fs.existsSync(path.join(project, where, 'package.json'))) continue
  packages++
  const sri = (entry.integrity || '').split(/\s+/)[0]
  const dash = sri.indexOf('-')
  if (dash < 0) { missing++; continue }
  const hex = Buffer.from(sri.slice(dash + 1), 'base64').toString('hex')
  const file = path.join(cache, '_cacache/content-v2', sri.slice(0, dash), hex.slice(0, 2), hex.slice(2, 4), hex.slice(4))
  if (fs.existsSync(file)) bytes += fs.statSync(file).size
  else missing++
}
console.log(packages, bytes, missing)
JS

for ((i = 1; i <= N; i++)); do
  say "node: repetition $i/$N (load $(cut -d' ' -f1 /proc/loadavg))"
  case $((i % 3)) in
  1) order=(sk wasm peers) ;;
  2) order=(peers sk wasm) ;;
  0) order=(wasm peers sk) ;;
  esac
  for side in "${order[@]}"; do
    proj="$WORK/node/project-$side"
    new_project "$proj"
    # shellcheck disable=SC2046 # npm_for prints a word list
    (cd "$proj" && timed "node.$side.install" "$LOGS/npm-$side.log" npm install $(npm_for "$side") \
      --cache "$CACHE" --offline --no-audit --no-fund --loglevel=error)
    read -r bytes files disk < <(files_stats "$proj/node_modules")
    read -r pkgs tgz missing < <(node "$WORK/node/stats.cjs" "$proj" "$CACHE")
    ((missing == 0)) || die "node: $missing installed package(s) of $side without a tarball in the cache"
    rec "node.$side.nm_bytes" "$bytes"
    rec "node.$side.files" "$files"
    rec "node.$side.disk_bytes" "$disk"
    rec "node.$side.packages" "$pkgs"
    rec "node.$side.tgz_bytes" "$tgz"
  done
done
for side in sk wasm peers; do
  # shellcheck disable=SC2016 # JavaScript, not shell
  (cd "$WORK/node/project-$side" && node -e '
    const deps = Object.keys(require("./package.json").dependencies)
    const names = deps.concat(deps.includes("secretkit")
      ? require("fs").readdirSync("node_modules").filter((n) => n.startsWith("secretkit-")) : [])
    for (const name of names) console.log(`node.${process.argv[1]}.pkg\t${name} ${
      JSON.parse(require("fs").readFileSync(`node_modules/${name}/package.json`, "utf8")).version}`)
  ' "$side") >>"$RES"
done
printf 'node.node\t%s\nnode.npm\t%s\n' "$(node --version)" "$(npm --version)" >>"$RES"

say "node: load time, $N+1 runs each (the first one dropped)"
JS_SK='const t0 = process.hrtime.bigint()
const sk = require("secretkit")
const t1 = process.hrtime.bigint()
const client = sk.Client.fromEnv()
const t2 = process.hrtime.bigint()
console.log(Number(t1 - t0) / 1e6, Number(t2 - t0) / 1e6)
client.close().then(() => process.exit(0))'
JS_WASM='const t0 = performance.now()
const sk = await import("secretkit-wasm")
const t1 = performance.now()
const client = new sk.Client({
  aws: { region: "us-east-1", accessKeyId: "bench", secretAccessKey: "bench" },
  vault: { address: "http://127.0.0.1:8200", token: "bench" },
})
const t2 = performance.now()
console.log(t1 - t0, t2 - t0)
await client.close()'
JS_PEERS='const t0 = process.hrtime.bigint()
const { SSMClient } = require("@aws-sdk/client-ssm")
const { SecretsManagerClient } = require("@aws-sdk/client-secrets-manager")
const vault = require("node-vault")
const t1 = process.hrtime.bigint()
const ssm = new SSMClient({})
const asm = new SecretsManagerClient({})
const v = vault({ endpoint: "http://127.0.0.1:8200", token: "bench" })
const t2 = process.hrtime.bigint()
console.log(Number(t1 - t0) / 1e6, Number(t2 - t0) / 1e6)'
for ((i = 0; i <= N; i++)); do
  for side in sk wasm peers; do
    case $side in
    sk) args=(-e "$JS_SK") ;;
    wasm) args=(--input-type=module -e "$JS_WASM") ;;
    peers) args=(-e "$JS_PEERS") ;;
    esac
    read -r imp cli < <(cd "$WORK/node/project-$side" && "${load_env[@]}" node "${args[@]}" 2>>"$LOGS/load.log")
    [[ -n ${cli:-} ]] || die "node: the $side load timing printed nothing: $(tail -n 20 "$LOGS/load.log")"
    if ((i)); then
      rec "node.$side.load_ms" "$imp"
      rec "node.$side.client_ms" "$cli"
    fi
  done
done

# ============================================================== report
rec run.seconds $((SECONDS - started))
rec run.dist "$DIST"
rec run.n "$N"
rec run.load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" - "$RES" <<'PY'
import statistics, sys
from collections import defaultdict

vals = defaultdict(list)
for line in open(sys.argv[1]):
    key, value = line.rstrip("\n").split("\t", 1)
    vals[key].append(value)

def med(key):
    return statistics.median(float(v) for v in vals[key])

def mb(b):
    return f"{b / 1e6:.2f} MB"

def count(x):
    return f"{x:,.0f}"

def sec(x):
    return f"{x:.2f} s"

def ms(x):
    return f"{x:.0f} ms" if x >= 100 else f"{x:.1f} ms"

def ratio(a, b):
    r = a / b
    return f"{r:.2g}×" if r < 0.1 else f"{r:.2f}×" if r < 10 else f"{r:.0f}×"

def versions(key):
    return " + ".join(" ".join(v.split()[:2]) for v in vals[key])

n = vals["run.n"][0]
# Sizes are the same in every repetition; say so if not.
for key in sorted(vals):
    if key.endswith(("_bytes", ".files", ".packages", ".wheels")) and len(set(vals[key])) > 1:
        print(f"note: {key} varied between repetitions: {vals[key]}")
print()
print("Every repetition (seconds for installs, ms for loads):")
for key in sorted(vals):
    if key.endswith((".wall", ".cpu", "_ms")):
        print(f"  {key}: {' '.join(vals[key])}")
print()
print("Wheels pip installed (name, version, file, bytes):")
for side in ("sk", "peers"):
    for v in vals[f"py.{side}.pkg"]:
        print(f"  {side}: {v}")
print()

def table(title, sides, names, metrics):
    cols = [names[s] for s in sides] + [f"{names[s].split()[0]} / peers" for s in sides[:-1]]
    print(f"| {title} | " + " | ".join(cols) + " |")
    print("| --- " * (len(cols) + 1) + "|")
    for label, key, fmt in metrics:
        cells = [fmt(med(key.format(s))) for s in sides]
        cells += [ratio(med(key.format(s)), med(key.format(sides[-1]))) for s in sides[:-1]]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()

print(f"Python {vals['py.python'][0]}, pip {vals['py.pip'][0]} (the venv's own); median of {n}")
print()
table("Python", ["sk", "peers"],
      {"sk": "secretkit", "peers": "boto3 + hvac"},
      [("wheels installed", "py.{}.wheels", count),
       ("wheel bytes", "py.{}.wheel_bytes", mb),
       ("installed bytes (sum of file sizes)", "py.{}.installed_bytes", mb),
       ("installed, on disk (du)", "py.{}.disk_bytes", mb),
       ("installed files", "py.{}.files", count),
       ("`pip install` wall time", "py.{}.install.compile.wall", sec),
       ("`pip install` CPU time", "py.{}.install.compile.cpu", sec),
       ("`pip install --no-compile` wall time", "py.{}.install.nocompile.wall", sec),
       ("`import`", "py.{}.import_ms", ms),
       ("`import` + clients", "py.{}.client_ms", ms)])
print(f"secretkit: {versions('py.sk.pkg')}")
print(f"boto3 + hvac: {versions('py.peers.pkg')}")
print()

print(f"Node {vals['node.node'][0]}, npm {vals['node.npm'][0]}; median of {n}")
print()
table("Node", ["sk", "wasm", "peers"],
      {"sk": "secretkit", "wasm": "secretkit-wasm", "peers": "AWS SDK v3 + node-vault"},
      [("packages installed", "node.{}.packages", count),
       ("tarball bytes", "node.{}.tgz_bytes", mb),
       ("node_modules bytes (sum of file sizes)", "node.{}.nm_bytes", mb),
       ("node_modules on disk (du)", "node.{}.disk_bytes", mb),
       ("node_modules files", "node.{}.files", count),
       ("`npm install --offline` wall time", "node.{}.install.wall", sec),
       ("`npm install --offline` CPU time", "node.{}.install.cpu", sec),
       ("load (`require` / `import()`)", "node.{}.load_ms", ms),
       ("load + clients", "node.{}.client_ms", ms)])
for side in ("sk", "wasm", "peers"):
    print(f"{side}: {versions(f'node.{side}.pkg')}")
print()
print(f"artifacts: {vals['run.dist'][0]}; run time {vals['run.seconds'][0]} s; "
      f"load average at the end {vals['run.load_end'][0]}")
PY
