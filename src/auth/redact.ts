/**
 * Credentials inside text: `scheme://user:password@host` in a driver's error message, a stack trace, or
 * anything else on its way to a log line or a response. Applied to every error body and every log line
 * (pino hooks below), in addition to pino's path redaction of known fields.
 */

/** `scheme://user:pass@` and `scheme://user@` (a user name can be a secret, e.g. a token as user). */
const DSN_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@'"]+@/gi;
/** `password=...` in key=value connection strings (libpq, ODBC, JDBC-style). */
const KV_PASSWORD = /\b(password|passwd|pwd)\s*=\s*('[^']*'|"[^"]*"|[^\s;&]+)/gi;

/** The text with every embedded credential replaced by `[redacted]`. */
export function stripCredentials(text: string): string {
  if (!text.includes('@') && !/pass|pwd/i.test(text)) return text;
  return text.replace(DSN_CREDENTIALS, '$1[redacted]@').replace(KV_PASSWORD, '$1=[redacted]');
}

/** A copy of a log object with credentials stripped from every string, Errors flattened. */
export function sanitizeLogValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return stripCredentials(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown };
    const out: Record<string, unknown> = {
      type: e.name,
      message: stripCredentials(e.message),
      stack: e.stack === undefined ? undefined : stripCredentials(e.stack),
    };
    if (e.code !== undefined) out.code = e.code;
    if (e.cause !== undefined) out.cause = sanitizeLogValue(e.cause, depth + 1);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => sanitizeLogValue(v, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = sanitizeLogValue(v, depth + 1);
  return out;
}

/**
 * pino options that strip credentials from every log line: the message arguments (`hooks.logMethod`) and
 * the merged object (`formatters.log`). Spread into the logger options next to `redact`.
 */
export const LOG_SANITIZERS = {
  hooks: {
    logMethod(this: unknown, args: unknown[], method: (...a: unknown[]) => void): void {
      method.apply(
        this,
        args.map((a) => sanitizeLogValue(a)),
      );
    },
  },
  formatters: {
    log(object: Record<string, unknown>): Record<string, unknown> {
      return sanitizeLogValue(object) as Record<string, unknown>;
    },
  },
};
