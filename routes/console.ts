import type { FastifyInstance, FastifyReply } from 'fastify';
import { CONSOLE_CSS, CONSOLE_HTML } from '../src/console/page.js';
import { CONSOLE_JS } from '../src/console/script.js';

/**
 * The query console (`console.enabled`, off by default; docs/console.md): one static page, its script and
 * its style sheet. The three files hold no data and no secrets, so they load without credentials
 * (`config.publicPage`, see src/auth/principal.ts); every query the page runs is an ordinary API call with
 * the token the user typed, checked like any other.
 *
 * The CSP allows the page's own origin only: no inline script or style, no framing, no form posts, fetch
 * to the gateway itself only.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const FILES: Record<string, { type: string; body: string }> = {
  '/console': { type: 'text/html; charset=utf-8', body: CONSOLE_HTML },
  '/console/app.js': { type: 'text/javascript; charset=utf-8', body: CONSOLE_JS },
  '/console/app.css': { type: 'text/css; charset=utf-8', body: CONSOLE_CSS },
};

export default async function consoleRoute(app: FastifyInstance): Promise<void> {
  for (const [path, file] of Object.entries(FILES)) {
    app.get(
      path,
      { schema: { hide: true }, config: { publicPage: true }, exposeHeadRoute: false },
      async (_request, reply: FastifyReply) =>
        reply.type(file.type).header('content-security-policy', CONSOLE_CSP).send(file.body),
    );
  }
}
