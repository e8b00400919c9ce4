#!/usr/bin/env bash
# The TypeScript client (clients/ts, issue #12): its own install, typecheck, build and tests against a real
# gateway (the root build's dist/src/cli.js) on SQLite, PostgreSQL and MariaDB, stream(), the size check, the
# runtime smokes (Node, Deno, Bun, workerd from their npm packages) and a quick run of the overhead bench.
set -euo pipefail
cd "$(dirname "$0")/../../clients/ts"
npm ci --no-audit --no-fund
npm run typecheck
npm run build
npm test
# The overhead benchmark must run (its figure is for the README, not asserted: no timed assertions in CI).
npm run bench -- --quick
