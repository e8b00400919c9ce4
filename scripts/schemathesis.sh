#!/usr/bin/env bash
# Schemathesis against the gateway's own /openapi.json (issue #15): starts the built gateway with an API
# key and a SQLite + a PostgreSQL backend, fuzzes every operation within a time budget, and fails on any
# 5xx, any status code the spec does not list, or any response that does not match its schema.
#
#   bash scripts/schemathesis.sh            # needs `npm run build` first and PostgreSQL (scripts/services.sh)
# Env: SQLGATE_TEST_PG_URL (default: the CI database), SCHEMATHESIS_MAX_TIME (seconds, default 150),
#      SCHEMATHESIS_MAX_EXAMPLES (per operation, default 40), SQLGATE_VENV (default .venv-schemathesis),
#      SQLGATE_CMD (default: node dist/src/cli.js; locally `node --import tsx src/cli.ts`).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VENV="${SQLGATE_VENV:-.venv-schemathesis}"
PORT="${SCHEMATHESIS_PORT:-18210}"
PG_URL="${SQLGATE_TEST_PG_URL:-postgres://sqlgate@127.0.0.1:5432/test}"
MAX_TIME="${SCHEMATHESIS_MAX_TIME:-150}"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-40}"
CMD="${SQLGATE_CMD:-node dist/src/cli.js}"

if [ ! -x "$VENV/bin/st" ] || [ "$("$VENV/bin/st" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

work="$(mktemp -d)"
key="st-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$work/config.json" <<JSON
{
  "server": { "host": "127.0.0.1", "port": $PORT },
  "logging": { "level": "warn" },
  "auth": { "apiKeys": [{ "name": "fuzzer", "key": "$key", "backends": ["*"] }] },
  "limits": { "statementTimeoutMs": 2000, "maxStatementTimeoutMs": 5000 },
  "sessions": { "idleTimeoutMs": 5000, "maxLifetimeMs": 20000, "maxOpen": 64 },
  "backends": {
    "local": { "driver": "sqlite", "database": "$work/fuzz.sqlite" },
    "pg": { "driver": "postgres", "url": "$PG_URL", "pool": { "max": 8 } }
  }
}
JSON

$CMD serve --config "$work/config.json" >"$work/gateway.log" 2>&1 &
gw=$!
cleanup() {
  kill -TERM "$gw" 2>/dev/null || true
  wait "$gw" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$gw" 2>/dev/null || { cat "$work/gateway.log"; exit 1; }
  sleep 0.2
done

# positive_data_acceptance is left out: a schema-valid body still carries arbitrary SQL, which the
# database rightly refuses with a documented 4xx. Everything else, including negative_data_rejection
# (schema-invalid input must get a 4xx), is checked.
# One worker: with two, hypothesis 6.170 crashed once in CI with a KeyError in its lambda-source cache
# (hypothesis/internal/lambda_sources.py, shared between the worker threads) — a tool failure, not ours.
status=0
"$VENV/bin/st" run "http://127.0.0.1:$PORT/openapi.json" \
  -H "Authorization: Bearer $key" \
  --checks all --exclude-checks positive_data_acceptance \
  --max-examples "$MAX_EXAMPLES" --max-time "$MAX_TIME" \
  --workers 1 --seed 15 --request-timeout 10 --no-color \
  --generation-database none \
  --suppress-health-check all || status=$?
if [ "$status" -ne 0 ]; then
  echo "== gateway log (warn and above)"
  tail -n 50 "$work/gateway.log"
fi
exit "$status"
