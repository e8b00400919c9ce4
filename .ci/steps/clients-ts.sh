#!/usr/bin/env bash
# The TypeScript client (clients/ts, issue #12): its own install, typecheck, build and tests against a real
# gateway (the root build's dist/src/cli.js) on SQLite, PostgreSQL and MariaDB.
set -euo pipefail
cd "$(dirname "$0")/../../clients/ts"
npm ci --no-audit --no-fund
npm run typecheck
npm run build
npm test
