#!/usr/bin/env bash
# The Drizzle and Kysely adapters of @sqlgate/client (issue #12 item 3). Their suites (clients/ts/test/drizzle/,
# clients/ts/test/kysely.test.ts) run inside clients/ts's `npm test` (.ci/steps/clients-ts.sh, which installs
# drizzle-orm and kysely as devDependencies and builds dist/). This step checks what a user imports: the built
# subpath exports resolve through package.json "exports" and carry the adapters' entry points.
set -euo pipefail
cd "$(dirname "$0")/../../clients/ts"
[ -f dist/drizzle/index.js ] && [ -f dist/kysely/index.js ] || npm run build
node --input-type=module -e '
const d = await import("@sqlgate/client/drizzle");
const k = await import("@sqlgate/client/kysely");
const want = { drizzle: [d, ["pgProxy", "mysqlProxy", "sqliteProxy", "sqliteBatch", "withTransaction"]], kysely: [k, ["SqlgateDialect", "SqlgateDriver"]] };
for (const [sub, [mod, names]] of Object.entries(want)) {
  for (const n of names) if (typeof mod[n] !== "function") throw new Error(`@sqlgate/client/${sub}: ${n} is not exported`);
}
for (const f of ["dist/drizzle/index.d.ts", "dist/kysely/index.d.ts"]) {
  const fs = await import("node:fs");
  if (!fs.existsSync(f)) throw new Error(`${f} is missing: the subpath has no types`);
}
console.log("adapters: @sqlgate/client/drizzle and @sqlgate/client/kysely resolve from the build");
'
