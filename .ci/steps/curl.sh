#!/usr/bin/env bash
# Issue #20 (curl-first debugging). The format, GET, explain and console tests run in `npm test`
# (test/contract/{formats,execute-get,explain}.test.ts, test/http/console.test.ts: headless Chromium, installed
# by .ci/run). Here: a smoke run of the formats benchmark (every format answers a 10,000-row result; the
# figures are printed, not asserted, since CI machines are not benchmark machines).
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "-- bench/formats.mjs --quick"
npx tsx bench/formats.mjs --quick
