#!/usr/bin/env bash
# Builds native/sqlgate-deadline.c (the SQLite statement deadline, see src/backend/sqlite/sqlite-deadline.ts)
# against the SQLite headers better-sqlite3 ships. Needs a C compiler (apt: gcc).
set -euo pipefail
cd "$(dirname "$0")/.."
headers=node_modules/better-sqlite3/deps/sqlite3
[ -f "$headers/sqlite3ext.h" ] || { echo "build-native: $headers/sqlite3ext.h not found (npm ci first)" >&2; exit 1; }
mkdir -p native/build
case "$(uname -s)" in
  Darwin) out=native/build/sqlgate-deadline.dylib; flags=(-dynamiclib -undefined dynamic_lookup) ;;
  *) out=native/build/sqlgate-deadline.so; flags=(-shared -fPIC) ;;
esac
"${CC:-cc}" -O2 -Wall -Wextra -Werror -pthread "${flags[@]}" -I "$headers" -o "$out" native/sqlgate-deadline.c
echo "build-native: $out"
