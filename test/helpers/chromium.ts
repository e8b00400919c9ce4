import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/**
 * Debian's Chromium, headless, driven by playwright-core: shared by the browser tests (/docs, /console).
 * `chromiumSkipReason` is null when it is installed; under CI a missing browser throws at import, so the
 * browser tests can never be skipped there.
 */
export const CHROMIUM = process.env.SQLGATE_TEST_CHROMIUM ?? '/usr/bin/chromium';

export const chromiumSkipReason = existsSync(CHROMIUM)
  ? null
  : `Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium)`;
if (chromiumSkipReason && process.env.CI) {
  throw new Error(`CI is set but ${chromiumSkipReason}: CI must run the browser test`);
}
if (chromiumSkipReason) console.warn(`[skip] ${chromiumSkipReason}`);

export interface Browser {
  context: BrowserContext;
  /** Closes the browser and removes its profile directory. */
  close(): Promise<void>;
}

/** Starts headless Chromium with a throwaway profile and no background traffic of its own. */
export async function launchChromium(viewport?: { width: number; height: number }): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'sqlgate-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    ...(viewport ? { viewport } : {}),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
