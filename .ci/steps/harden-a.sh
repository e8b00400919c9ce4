#!/usr/bin/env bash
# Issue #15 (harden-a): builds the SQLite statement-deadline extension (native/sqlgate-deadline.c) that
# test/http/sqlite-timeout.test.ts needs (it fails under CI when the extension is missing). Runs before
# `npm test`; needs a C compiler, installed here when absent.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v cc >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 gcc libc6-dev
fi
npm run build:native
