/**
 * Most parameters one statement can have through this driver. The protocol's counts are 16-bit and the
 * server takes up to 65,535, but pg-protocol reads the ParameterDescription count as a signed Int16 (a
 * statement with more than 32,767 params crashes its parser), so the gateway stops at 32,767.
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html#PROTOCOL-MESSAGE-FORMATS-BIND
 */
export const MAX_PG_PARAMS = 32_767;

/**
 * The frontend messages of one extended-protocol round trip, written into a single buffer. pg's own
 * serializer allocates one Buffer per message and the socket queues each as a chunk; a pipelined batch of
 * 10,000 parameter sets made 20,000 of them. Here the whole round trip is one allocation and one write.
 * @see https://www.postgresql.org/docs/15/protocol-message-formats.html
 */
export class WireWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Message type byte and a length placeholder; returns where the length goes. */
  private start(code: number, room: number): number {
    this.ensure(5 + room);
    this.buf[this.pos] = code;
    const at = this.pos + 1;
    this.pos += 5;
    return at;
  }

  private end(at: number): void {
    this.buf.writeInt32BE(this.pos - at, at);
  }

  /**
   * `s` as UTF-8 at `at` (room ensured: 3 bytes per UTF-16 unit); returns the byte count. Short ASCII text
   * is copied by hand: Buffer#write costs more per call than the copy of a few bytes.
   */
  private utf8(s: string, at: number): number {
    const n = s.length;
    if (n > 64) return this.buf.write(s, at, 'utf8');
    const buf = this.buf;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return buf.write(s, at, 'utf8');
      buf[at + i] = c;
    }
    return n;
  }

  /** A NUL-terminated UTF-8 string (room ensured by the caller: 3 bytes per UTF-16 unit + 1). */
  private cstring(s: string): void {
    this.pos += this.utf8(s, this.pos);
    this.buf[this.pos++] = 0;
  }

  /** Parse: `sql` as statement `name` ('' = unnamed), parameter types left to the server. */
  parse(name: string, sql: string): void {
    const at = this.start(0x50, (name.length + sql.length) * 3 + 4);
    this.cstring(name);
    this.cstring(sql);
    this.buf.writeInt16BE(0, this.pos);
    this.pos += 2;
    this.end(at);
  }

  /** Describe of a statement (`S`): ParameterDescription, then RowDescription or NoData. */
  describeStatement(name: string): void {
    const at = this.start(0x44, name.length * 3 + 2);
    this.buf[this.pos++] = 0x53;
    this.cstring(name);
    this.end(at);
  }

  /** Close of a statement; closing one that does not exist is not an error. */
  closeStatement(name: string): void {
    const at = this.start(0x43, name.length * 3 + 2);
    this.buf[this.pos++] = 0x53;
    this.cstring(name);
    this.end(at);
  }

  /**
   * Bind of the unnamed portal to `statement` (at most MAX_PG_PARAMS values): strings as text, Buffers
   * as binary (raw bytes), null as NULL;
   * every result column in text format.
   */
  bind(statement: string, values: Array<string | Buffer | null>): void {
    const at = this.start(0x42, statement.length * 3 + 8 + values.length * 2);
    this.buf[this.pos++] = 0; // unnamed portal
    this.cstring(statement);
    const binary = values.some((v) => v !== null && typeof v !== 'string');
    if (binary) {
      this.buf.writeInt16BE(values.length, this.pos);
      this.pos += 2;
      for (const v of values) {
        this.buf.writeInt16BE(v !== null && typeof v !== 'string' ? 1 : 0, this.pos);
        this.pos += 2;
      }
    } else {
      this.buf.writeInt16BE(0, this.pos);
      this.pos += 2;
    }
    this.ensure(2);
    this.buf.writeInt16BE(values.length, this.pos);
    this.pos += 2;
    for (const v of values) {
      if (v === null) {
        this.ensure(4);
        this.buf.writeInt32BE(-1, this.pos);
        this.pos += 4;
      } else if (typeof v === 'string') {
        this.ensure(4 + v.length * 3);
        const n = this.utf8(v, this.pos + 4);
        this.buf.writeInt32BE(n, this.pos);
        this.pos += 4 + n;
      } else {
        this.ensure(4 + v.length);
        this.buf.writeInt32BE(v.length, this.pos);
        v.copy(this.buf, this.pos + 4);
        this.pos += 4 + v.length;
      }
    }
    this.ensure(2);
    this.buf.writeInt16BE(0, this.pos);
    this.pos += 2;
    this.end(at);
  }

  /** Execute of the unnamed portal; `rows` 0 = all. */
  execute(rows: number): void {
    const at = this.start(0x45, 5);
    this.buf[this.pos++] = 0;
    this.buf.writeInt32BE(rows, this.pos);
    this.pos += 4;
    this.end(at);
  }

  sync(): void {
    this.ensure(5);
    this.buf[this.pos] = 0x53;
    this.buf.writeInt32BE(4, this.pos + 1);
    this.pos += 5;
  }

  /** The messages written so far. */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
