#!/usr/bin/env bash
# One command for the pass-count table in docs/orm.md: the ORM's testsuite directly and through sqlgate on
# SQLite, PostgreSQL and MariaDB (SQLGATE_TEST_PG_URL / SQLGATE_TEST_MYSQL_URL). Needs the root build
# (npm run build) and the venv (.ci/steps/python.sh makes it). Arguments go to scripts/suite.py.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d .venv ] && . .venv/bin/activate
exec python scripts/suite.py "$@"
