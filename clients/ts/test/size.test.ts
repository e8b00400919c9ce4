import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/** The core's budget and its "no Node APIs" promise, measured on a real bundle of src/index.ts. */
const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url));

async function bundle(platform: 'browser' | 'neutral', minify: boolean): Promise<string> {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform,
    minify,
    write: false,
    target: 'es2022',
    logLevel: 'silent',
  });
  return out.outputFiles[0]?.text ?? '';
}

describe('core size and portability', () => {
  it('is at most 8 KB minified + gzip', async () => {
    const min = await bundle('browser', true);
    const gz = gzipSync(Buffer.from(min), { level: 9 }).length;
    console.log(`core: ${min.length} B minified, ${gz} B minified+gzip`);
    expect(min.length).toBeGreaterThan(1000);
    expect(gz).toBeLessThanOrEqual(8 * 1024);
  });

  it('bundles for platform neutral with no Node module, process or Buffer', async () => {
    // platform 'neutral' resolves no Node built-ins: an import of one would fail the build here.
    const code = await bundle('neutral', false);
    expect(code).not.toMatch(/\bfrom\s*["'](node:)?[a-z_/]+["']|\brequire\(|\bimport\(/);
    expect(code).not.toMatch(/\bprocess\b/);
    expect(code).not.toMatch(/\bBuffer\b/);
    expect(code).not.toMatch(/\b(setImmediate|__dirname|__filename|global)\b/);
    expect(code).toMatch(/\bfetch\(/);
  });
});
