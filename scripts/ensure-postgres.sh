#!/usr/bin/env bash
# The suite runs on PostgreSQL as well as SQLite; start the local cluster if it is down.
# If PostgreSQL still cannot be reached, the tests fail (they never skip).
set -uo pipefail
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then exit 0; fi
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done
fi
echo "warning: PostgreSQL is not answering on 127.0.0.1:5432; the PostgreSQL tests will fail" >&2
