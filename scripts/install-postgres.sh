#!/usr/bin/env bash
# PostgreSQL server binaries from Debian's packages (the Django example and
# the Vault dynamic-credentials tests start private instances with them).
# Idempotent: does nothing when initdb is already installed.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  echo "install-postgres: present ($(ls -d /usr/lib/postgresql/*/ | head -1))"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql >/dev/null
echo "install-postgres: installed $(ls -d /usr/lib/postgresql/*/ | head -1)"
