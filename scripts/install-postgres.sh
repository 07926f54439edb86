#!/usr/bin/env bash
# PostgreSQL server binaries from Debian's packages (the Django example and
# the Vault dynamic-credentials tests, `tests/servers.py start --vault-lifecycle`,
# start private instances with them: /usr/lib/postgresql/*/bin, run as the
# `postgres` OS user).
# Idempotent: does nothing when initdb, psql and the postgres user are present.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && command -v psql >/dev/null \
   && id postgres >/dev/null 2>&1; then
  echo "install-postgres: present ($(ls -d /usr/lib/postgresql/*/ | head -1))"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-postgres: needs root (apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The tests never use the system cluster: do not create (and start) one.
mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/secretkit-no-main.conf
apt-get update -qq
apt-get install -y -qq postgresql postgresql-client >/dev/null
echo "install-postgres: installed $(ls -d /usr/lib/postgresql/*/ | head -1)"
