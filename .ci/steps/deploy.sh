#!/usr/bin/env bash
# Issue #17 (deployment): what test/deploy/*.test.ts needs on a fresh machine. Run before `npm test`.
set -euo pipefail
if ! command -v haproxy >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 haproxy
fi
haproxy -v | head -1
