// Entry for Node, Deno and Bun: `<runtime> smoke/cli.mjs <gateway url> <backend,...> [closed url]`; prints
// one JSON line.
import { smoke } from './smoke.mjs';

const args = globalThis.Deno ? globalThis.Deno.args : globalThis.process.argv.slice(2);
const runtime = globalThis.Deno ? 'deno' : globalThis.Bun ? 'bun' : 'node';
const [url, backends = 'sqlite', closed] = args;
smoke(url, backends.split(','), runtime, closed).then(
  (report) => console.log(JSON.stringify(report)),
  (err) => {
    console.error(`smoke failed in ${runtime}: ${err?.stack ?? err}`);
    if (globalThis.Deno) globalThis.Deno.exit(1);
    else globalThis.process.exit(1);
  },
);
