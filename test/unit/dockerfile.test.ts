import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * No Docker engine runs here (and hadolint is not installable), so the Dockerfile is checked statically for
 * what the image must do: multi-stage (dev dependencies only where the build runs), production dependencies
 * in the runtime, a non-root user, node as the entrypoint in exec form (signals reach it), a HEALTHCHECK
 * without curl, a volume for SQLite data, and COPY sources that exist and are not dockerignored.
 */

const root = new URL('../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  body: Instruction[];
}

/** Instructions with continuation lines joined and comments dropped, grouped by stage. */
function parseDockerfile(text: string): { args: Instruction[]; stages: Stage[] } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = '';
  }
  const args: Instruction[] = [];
  const stages: Stage[] = [];
  for (const l of logical) {
    const m = /^(\S+)\s*(.*)$/.exec(l)!;
    const ins = { op: m[1]!.toUpperCase(), args: m[2]!.trim() };
    if (ins.op === 'FROM') {
      const f = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      stages.push({ from: f[1]!, name: f[2], body: [] });
    } else if (stages.length === 0) {
      args.push(ins);
    } else {
      stages.at(-1)!.body.push(ins);
    }
  }
  return { args, stages };
}

/** `["a", "b"]` -> ['a', 'b']; anything else (shell form) -> undefined. */
function execForm(args: string): string[] | undefined {
  try {
    const v = JSON.parse(args);
    return Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined;
  } catch {
    return undefined;
  }
}

const { args: globalArgs, stages } = parseDockerfile(read('Dockerfile'));
const runtime = stages.at(-1)!;
const ops = (stage: Stage, op: string) => stage.body.filter((i) => i.op === op);
const stageNamed = (name: string) => stages.find((s) => s.name === name);
/** The stage and its ancestors, so a stage built FROM another inherits its RUNs. */
function lineage(stage: Stage): Stage[] {
  const parent = stageNamed(stage.from);
  return parent ? [...lineage(parent), stage] : [stage];
}
const runs = (stage: Stage) => lineage(stage).flatMap((s) => ops(s, 'RUN').map((i) => i.args));
const copyFrom = (from: string) =>
  ops(runtime, 'COPY').filter(
    (c) => c.args.includes(`--from=${from} `) || c.args.startsWith(`--from=${from}`),
  );

describe('Dockerfile', () => {
  it('is multi-stage: a build stage with dev dependencies, a runtime stage without them', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    const build = stages.find((s) => runs(s).some((r) => /npm run build/.test(r)))!;
    expect(build, 'a stage runs npm run build').toBeDefined();
    expect(
      runs(build).some((r) => /npm ci(?![^&]*--omit=dev)/.test(r)),
      'the build stage runs plain npm ci',
    ).toBe(true);
    // node_modules reach the runtime only from a stage whose last install step leaves production
    // dependencies alone: `npm ci --omit=dev`, or `npm ci` followed by `npm prune --omit=dev`.
    const prodOnly = (stage: Stage) => {
      const steps = runs(stage).flatMap((r) => r.split('&&').map((x) => x.trim()));
      const last = steps.findLast((x) => /^npm (ci|install|prune)\b/.test(x)) ?? '';
      return /--omit=dev/.test(last);
    };
    const modulesFrom = stages.filter((st) =>
      ops(runtime, 'COPY').some(
        (c) => c.args.startsWith(`--from=${st.name} `) && /node_modules/.test(c.args),
      ),
    );
    expect(modulesFrom.length, 'the runtime copies node_modules from a stage').toBeGreaterThan(0);
    for (const st of modulesFrom)
      expect(prodOnly(st), `${st.name} keeps production dependencies only`).toBe(true);
    // The runtime starts from the base image (or scratch plus a copy of it), not from a stage that holds
    // dev dependencies or a compiler.
    expect(stageNamed(runtime.from)).toBeUndefined();
    expect(runs(runtime).some((r) => /npm (ci|install)|apt-get install/.test(r))).toBe(false);
    for (const c of ops(runtime, 'COPY').filter((x) => /^--from=\S+ \/ \/$/.test(x.args))) {
      const base = stageNamed(/^--from=(\S+)/.exec(c.args)?.[1] ?? '');
      expect(base, 'a root filesystem copied into the runtime comes from a stage').toBeDefined();
      expect(runs(base as Stage).some((r) => /npm (ci|install)|apt-get install/.test(r))).toBe(false);
    }
    expect(copyFrom(build.name!).some((c) => /\/dist\b/.test(c.args))).toBe(true);
  });

  it('builds better-sqlite3 where no prebuilt binary can be fetched (build tools in the install stages only)', () => {
    const toolchain = stages.filter((s) => runs(s).some((r) => /apt-get install[^&]*\bg\+\+/.test(r)));
    expect(toolchain.length).toBeGreaterThan(0);
    expect(toolchain).not.toContain(runtime);
  });

  it('uses a Node image that satisfies package.json engines', () => {
    const image =
      globalArgs.find((a) => a.op === 'ARG' && a.args.startsWith('NODE_IMAGE='))?.args ?? runtime.from;
    const major = Number(/node:(\d+)/.exec(image)?.[1]);
    const engines = JSON.parse(read('package.json')).engines.node as string;
    expect(major).toBeGreaterThanOrEqual(Number(/(\d+)/.exec(engines)?.[1]));
    // better-sqlite3 12.x is what runs on Node 20; the image must not move to a Node it does not support.
    expect(major).toBeLessThan(24);
  });

  it('runs as a non-root user', () => {
    const users = ops(runtime, 'USER').map((u) => u.args.split(':')[0]);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0']).not.toContain(users.at(-1));
    const userAt = runtime.body.findIndex((i) => i.op === 'USER');
    const startAt = runtime.body.findIndex((i) => i.op === 'ENTRYPOINT' || i.op === 'CMD');
    expect(userAt).toBeLessThan(startAt);
  });

  it('starts node directly, in exec form, on the CLI that package.json installs', () => {
    const entry = execForm(ops(runtime, 'ENTRYPOINT').at(-1)?.args ?? '[]') ?? [];
    const cmd = execForm(ops(runtime, 'CMD').at(-1)?.args ?? '') ?? [];
    const argv = [...entry, ...cmd];
    expect(argv[0], 'exec form, node first (no sh -c, no npm start)').toBe('node');
    const bin = JSON.parse(read('package.json')).bin.sqlgate as string;
    expect(argv[1]).toBe(bin);
    expect(argv).toContain('serve');
  });

  it('has a HEALTHCHECK that uses node (no curl in slim images) against /healthz', () => {
    const hc = ops(runtime, 'HEALTHCHECK').at(-1)?.args ?? '';
    const cmd = execForm(hc.replace(/^(?:--\S+\s+)*CMD\s+/, '')) ?? [];
    expect(cmd[0]).toBe('node');
    expect(cmd.join(' ')).toContain('/healthz');
    expect(cmd.join(' ')).toContain('SQLGATE_PORT');
  });

  it('keeps SQLite data on a volume the runtime user owns, and listens where EXPOSE says', () => {
    const env = ops(runtime, 'ENV')
      .map((e) => e.args)
      .join(' ');
    expect(env).toMatch(/DATABASE_URL=sqlite:\/data\//);
    expect(env).toMatch(/SQLGATE_HOST=0\.0\.0\.0/);
    const port = /SQLGATE_PORT=(\d+)/.exec(env)?.[1];
    expect(ops(runtime, 'EXPOSE').map((e) => e.args)).toContain(port);
    const volumes = ops(runtime, 'VOLUME').flatMap((v) => execForm(v.args) ?? v.args.split(/\s+/));
    expect(volumes).toContain('/data');
    // Made in the runtime, or in the stage whose root filesystem the runtime copies (FROM scratch).
    const rootFrom = ops(runtime, 'COPY')
      .map((c) => /^--from=(\S+) \/ \/$/.exec(c.args)?.[1])
      .flatMap((n) => (n && stageNamed(n) ? [stageNamed(n) as Stage] : []));
    expect([runtime, ...rootFrom].some((st) => runs(st).some((r) => /chown[^&]*\/data/.test(r)))).toBe(true);
  });

  it('copies only paths that exist and that .dockerignore lets through, including everything the build uses', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const must of ['.git', 'node_modules', 'dist', 'data', '.env']) expect(ignored).toContain(must);
    // Docker's rule: the last pattern that matches the path or one of its parent folders decides; `!` re-includes.
    const isIgnored = (path: string) => {
      let out = false;
      for (const pattern of ignored) {
        const p = pattern.replace(/^!/, '').replace(/\/$/, '');
        if (path === p || path.startsWith(`${p}/`)) out = !pattern.startsWith('!');
      }
      return out;
    };
    const sources = stages.flatMap((s) =>
      ops(s, 'COPY')
        .filter((c) => !c.args.startsWith('--from='))
        .flatMap((c) =>
          c.args
            .split(/\s+/)
            .filter((a) => !a.startsWith('--'))
            .slice(0, -1),
        ),
    );
    for (const src of sources) {
      expect(existsSync(new URL(src, root)), `${src} exists`).toBe(true);
      expect(isIgnored(src), `${src} is not dockerignored`).toBe(false);
    }
    const built = JSON.parse(read('tsconfig.build.json')).include as string[];
    for (const dir of built) expect(sources, `the build stage copies ${dir}/`).toContain(dir);
    // Scripts that `npm run build` runs (node scripts/x.mjs) must be in the image's build context too.
    const buildScript = JSON.parse(read('package.json')).scripts.build as string;
    for (const [, script] of buildScript.matchAll(/\bnode\s+(\S+\.m?js)\b/g)) {
      expect(sources, `the build stage copies ${script}`).toContain(script);
    }
  });
});
