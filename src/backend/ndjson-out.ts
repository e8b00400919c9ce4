/**
 * A growable byte buffer that streamed rows are encoded into as NDJSON, straight from the driver's wire
 * bytes where the value's text is already its JSON (integers), needs only quotes (decimals, dates) or only
 * JSON string escaping (text). `take()` hands over the bytes written so far as one Buffer, so a piece of
 * rows becomes one socket write without ever being a JavaScript string. Nothing here knows a driver.
 */

/** JSON.stringify's escape for each byte below 0x20 (the short forms where JSON has them). */
const CONTROL_ESCAPES: string[] = Array.from({ length: 32 }, (_, c) => {
  const short: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' };
  return short[c] ?? `\\u00${c.toString(16).padStart(2, '0')}`;
});

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export class NdjsonOut {
  private buf: Buffer;
  /** Bytes written so far. */
  length = 0;

  constructor(private readonly initial = 96 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private grow(need: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + need));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  /** Makes room for `n` more bytes (call before the unchecked writers below). */
  ensure(n: number): void {
    if (this.length + n > this.buf.length) this.grow(n);
  }

  /** One byte (no room check: call `ensure` first). */
  byte(b: number): void {
    this.buf[this.length++] = b;
  }

  /** ASCII text (prefixes, `null`, `true`): one byte per character. */
  ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    if (n < 24) {
      const buf = this.buf;
      let at = this.length;
      for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
      this.length = at;
    } else {
      this.length += this.buf.write(s, this.length, 'latin1');
    }
  }

  /** An integer (a safe one) as its decimal digits, as String(v) writes it. */
  int(v: number): void {
    if (v < 0 || v > 0x7fffffff || !Number.isInteger(v)) {
      this.ascii(String(v));
      return;
    }
    let digits = 1;
    for (let x = v; x >= 10; x = (x / 10) | 0) digits++;
    this.ensure(digits);
    const buf = this.buf;
    let at = this.length + digits;
    this.length = at;
    let x = v;
    do {
      buf[--at] = 0x30 + (x % 10);
      x = (x / 10) | 0;
    } while (x > 0);
  }

  /** Bytes encoded beforehand (a row's prefixes). */
  raw(b: Buffer): void {
    this.bytes(b, 0, b.length);
  }

  /** Any text, as UTF-8 (values that went through a JavaScript encoder). */
  text(s: string): void {
    this.ensure(s.length * 3);
    this.length += this.buf.write(s, this.length, 'utf8');
  }

  /** Bytes copied as they are. */
  bytes(src: Buffer, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    if (n < 32) {
      const buf = this.buf;
      let at = this.length;
      for (let i = start; i < end; i++) buf[at++] = src[i] as number;
      this.length = at;
    } else {
      src.copy(this.buf, this.length, start, end);
      this.length += n;
    }
  }

  /** `"` + bytes + `"`: text that holds nothing JSON escapes (digits, dates, UUIDs). */
  quoted(src: Buffer, start: number, end: number): void {
    this.ensure(end - start + 2);
    this.buf[this.length++] = QUOTE;
    this.bytes(src, start, end);
    this.buf[this.length++] = QUOTE;
  }

  /**
   * ASCII text bytes as a JSON string, escaped exactly as JSON.stringify escapes them. Returns false, having
   * written nothing, when the text holds a byte ≥ 0x80: the caller then decodes it as UTF-8 and encodes
   * the string itself (so invalid sequences are replaced exactly as the string path replaces them).
   */
  asciiString(src: Buffer, start: number, end: number): boolean {
    const n = end - start;
    this.ensure(n + 2);
    const mark = this.length;
    const buf = this.buf;
    let at = mark;
    buf[at++] = QUOTE;
    for (let i = start; i < end; i++) {
      const c = src[i] as number;
      if (c >= 0x80) {
        this.length = mark;
        return false;
      }
      if (c < 0x20 || c === QUOTE || c === BACKSLASH) {
        const esc = c < 0x20 ? (CONTROL_ESCAPES[c] as string) : c === QUOTE ? '\\"' : '\\\\';
        this.length = at;
        this.ensure(esc.length + (end - i) + 1);
        this.length += this.buf.write(esc, this.length, 'latin1');
        return this.escapedRest(src, i + 1, end, mark);
      }
      buf[at++] = c;
    }
    buf[at++] = QUOTE;
    this.length = at;
    return true;
  }

  /** The slow part of asciiString, from the first byte that needed an escape. */
  private escapedRest(src: Buffer, start: number, end: number, mark: number): boolean {
    for (let i = start; i < end; i++) {
      const c = src[i] as number;
      if (c >= 0x80) {
        this.length = mark;
        return false;
      }
      if (c < 0x20 || c === QUOTE || c === BACKSLASH) {
        this.ascii(c < 0x20 ? (CONTROL_ESCAPES[c] as string) : c === QUOTE ? '\\"' : '\\\\');
      } else {
        this.ensure(1);
        this.buf[this.length++] = c;
      }
    }
    this.ensure(1);
    this.buf[this.length++] = QUOTE;
    return true;
  }

  /** Forgets everything after `mark` (a row that failed to encode). */
  truncate(mark: number): void {
    this.length = mark;
  }

  /** The bytes written so far, as a Buffer of their own; the writer starts over empty. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.length);
    this.buf = Buffer.allocUnsafe(Math.max(this.initial, this.length + 1024));
    this.length = 0;
    return out;
  }
}
