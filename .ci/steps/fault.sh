#!/usr/bin/env bash
# Issue #15: the fault-injection suite (test/fault, vitest.fault.config.ts). It starts its own PostgreSQL 15
# (initdb/pg_ctl from /usr/lib/postgresql/15/bin, as the postgres OS user) and MariaDB (mariadb-install-db +
# mariadbd --user=root) on ports 18250/18251, kills and restarts them, and spawns the built gateway
# (dist/src/cli.js). Needs what scripts/services.sh installs; run after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/../.."
test -x /usr/lib/postgresql/15/bin/initdb || { echo "PostgreSQL 15 server binaries missing (scripts/services.sh)"; exit 1; }
command -v mariadbd >/dev/null || { echo "mariadbd missing (scripts/services.sh)"; exit 1; }
test -f dist/src/cli.js || npm run build
SQLGATE_TEST_DIST=1 npx vitest run -c vitest.fault.config.ts
