#!/usr/bin/env bash
# Make sure a PostgreSQL server answers at 127.0.0.1:5432 with a database `test` (trust auth),
# as the conformance suite expects. Installs and starts Debian's PostgreSQL when missing.
set -euo pipefail

ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! command -v pg_isready >/dev/null 2>&1 || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "ensure-postgres: installing PostgreSQL"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y postgresql
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  conf=/etc/postgresql/$ver/main
  # Local tests only: trust connections from this machine.
  sed -i -E 's/^(local|host)(\s+all\s+all\s+.*)\s(peer|md5|scram-sha-256)$/\1\2 trust/' "$conf/pg_hba.conf"
  sed -i -E "s/^#?listen_addresses.*/listen_addresses = '127.0.0.1'/" "$conf/postgresql.conf"
fi

if ! ready; then
  echo "ensure-postgres: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  for _ in $(seq 1 60); do ready && break; sleep 0.5; done
fi
ready || { echo "ensure-postgres: PostgreSQL does not answer at 127.0.0.1:5432" >&2; exit 1; }

if ! psql -h 127.0.0.1 -U postgres -d test -Atc 'select 1' >/dev/null 2>&1; then
  createdb -h 127.0.0.1 -U postgres test
fi
echo "ensure-postgres: ready at 127.0.0.1:5432, database test"
