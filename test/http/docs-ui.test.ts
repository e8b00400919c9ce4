import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { tempSqliteFile } from '../helpers/backends.js';
import { type Browser, chromiumSkipReason, launchChromium } from '../helpers/chromium.js';

/**
 * /docs renders in a real browser: Debian's Chromium, headless, driven by playwright-core over a real
 * socket. Skipped with the reason printed when Chromium is not installed locally; required under CI
 * (`apt-get install -y chromium`).
 */

const skipReason = chromiumSkipReason;

describe('Swagger UI at /docs in headless Chromium', () => {
  if (skipReason) {
    it.skip(`skipped: ${skipReason}`, () => {});
    return;
  }
  let t: TestApp;
  let base: string;
  let context: BrowserContext;
  let browser: Browser | undefined;

  beforeAll(async () => {
    t = await makeTestApp({ backends: { main: { driver: 'sqlite', database: tempSqliteFile() } } });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const addr = t.app.server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
    browser = await launchChromium();
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('lists the operations, renders one expanded, and loads nothing from outside the server', async () => {
    const page = await context.newPage();
    const foreign: string[] = [];
    const failed: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    page.on('requestfailed', (r) => failed.push(r.url()));
    page.on('pageerror', (e) => errors.push(e.message));

    const res = await page.goto(`${base}/docs`, { waitUntil: 'load' });
    expect(res?.status()).toBe(200);
    await page.locator('.opblock').first().waitFor({ state: 'visible', timeout: 20_000 });

    const ops = await page
      .locator('.opblock-summary')
      .evaluateAll((els) =>
        els.map((el) =>
          [
            el.querySelector('.opblock-summary-method')?.textContent?.trim(),
            el.querySelector('.opblock-summary-path')?.getAttribute('data-path'),
          ].join(' '),
        ),
      );
    for (const op of [
      'POST /v1/execute',
      'GET /v1/backends',
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /openapi.json',
    ]) {
      expect(ops).toContain(op);
    }
    expect(await page.locator('.info .title').first().textContent()).toContain('sqlgate');

    // Open POST /v1/execute: its request example and the documented error codes render.
    await page.locator('#operations-statements-post_v1_execute .opblock-summary').first().click();
    const body = page.locator('#operations-statements-post_v1_execute .opblock-body');
    await body.waitFor({ state: 'visible' });
    await expect.poll(() => body.textContent(), { timeout: 10_000 }).toContain('SELECT id, email FROM users');
    expect(await body.textContent()).toContain('409');

    expect(errors).toEqual([]);
    expect(failed).toEqual([]);
    expect(foreign).toEqual([]);
    await page.close();
  });
});
