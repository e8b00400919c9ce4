/**
 * A growing UTF-8 buffer that the CSV and table writers fill directly from stretches of strings (the rows'
 * JSON text, cell texts), so a large body is neither built as one big concatenated string nor encoded in a
 * second pass. The encoding is the one of `Buffer.from(string)`: a lone surrogate becomes U+FFFD.
 */
export class ByteSink {
  /** The bytes written so far are `buf.subarray(0, length)`. */
  buf: Buffer;
  /** How many bytes are written. */
  length = 0;

  constructor(sizeHint: number) {
    this.buf = Buffer.allocUnsafe(Math.max(1024, sizeHint));
  }

  /** Room for `n` more bytes. */
  reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  /** `count` copies of the ASCII character `code`. */
  repeat(code: number, count: number): void {
    if (count <= 0) return;
    this.reserve(count);
    this.buf.fill(code, this.length, this.length + count);
    this.length += count;
  }

  /** One ASCII character. */
  byte(code: number): void {
    this.reserve(1);
    this.buf[this.length++] = code;
  }

  /** The three bytes ` | ` (the table's column separator). */
  separator(): void {
    this.reserve(3);
    const buf = this.buf;
    buf[this.length] = 32;
    buf[this.length + 1] = 124;
    buf[this.length + 2] = 32;
    this.length += 3;
  }

  /** `s.slice(from, to)` as UTF-8. */
  write(s: string, from = 0, to = s.length): void {
    this.reserve(3 * (to - from));
    const buf = this.buf;
    let o = this.length;
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) buf[o++] = c;
      else if (c < 0x800) {
        buf[o++] = 0xc0 | (c >> 6);
        buf[o++] = 0x80 | (c & 0x3f);
      } else if (c < 0xd800 || c > 0xdfff) {
        buf[o++] = 0xe0 | (c >> 12);
        buf[o++] = 0x80 | ((c >> 6) & 0x3f);
        buf[o++] = 0x80 | (c & 0x3f);
      } else {
        const d = c <= 0xdbff && i + 1 < to ? s.charCodeAt(i + 1) : 0;
        if (d >= 0xdc00 && d <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          buf[o++] = 0xf0 | (cp >> 18);
          buf[o++] = 0x80 | ((cp >> 12) & 0x3f);
          buf[o++] = 0x80 | ((cp >> 6) & 0x3f);
          buf[o++] = 0x80 | (cp & 0x3f);
          i++;
        } else {
          buf[o++] = 0xef;
          buf[o++] = 0xbf;
          buf[o++] = 0xbd;
        }
      }
    }
    this.length = o;
  }

  /** Drops trailing spaces (U+0020) written since byte `floor`. */
  trimSpaces(floor: number): void {
    while (this.length > floor && this.buf[this.length - 1] === 32) this.length--;
  }

  /** The bytes written, without copying. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}
