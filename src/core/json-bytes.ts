/**
 * JSON text written as UTF-8 bytes into one reused buffer: how a collector that emits 100k events
 * a cycle builds each event's fields (EncodedFields.fromBytes). Concatenated into a string instead,
 * each piece of an event is a heap object, and the stamper flattens the whole and encodes it again:
 * at 100k events that garbage cost more collection time than the rest of the event.
 */
import { EncodedFields } from './plugin.js';

/** The most bytes uint() writes (any safe integer). */
const MOST_UINT_BYTES = 16;

export class JsonBytes {
  /** Bytes [0, length) are the text written. Replaced by a larger buffer when it fills. */
  bytes = Buffer.allocUnsafe(4096);
  length = 0;

  reset(): void {
    this.length = 0;
  }

  /**
   * Makes room for `n` more bytes and returns where they start, for an encoder that writes
   * there itself and then sets `length` to its end. May replace `bytes`: read it after this call.
   */
  reserve(n: number): number {
    if (this.length + n > this.bytes.length) {
      const larger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.length + n));
      this.bytes.copy(larger, 0, 0, this.length);
      this.bytes = larger;
    }
    return this.length;
  }

  /** Text that is already JSON, as UTF-8 (a constant such as `,"port":`, prepared once). */
  raw(text: Uint8Array): void {
    const at = this.reserve(text.length);
    this.bytes.set(text, at);
    this.length = at + text.length;
  }

  /** A non-negative safe integer. */
  uint(n: number): void {
    const at = this.reserve(MOST_UINT_BYTES);
    this.length = writeDecimal(this.bytes, at, n);
  }

  /** Any number, as JSON.stringify writes it (null when not finite). */
  number(n: number): void {
    if (Number.isSafeInteger(n) && n >= 0) this.uint(n);
    else this.ascii(Number.isFinite(n) ? String(n) : 'null');
  }

  /**
   * A non-negative safe integer divided by 1000, exactly (microseconds as milliseconds: 29 →
   * `0.029`, 1500 → `1.5`), without making a string.
   */
  thousandths(n: number): void {
    const at = this.reserve(MOST_UINT_BYTES + 4);
    this.length = writeThousandths(this.bytes, at, n);
  }

  /**
   * A JSON string of the UTF-8 text src[s, e), with its quotes, the value JSON.stringify gives of
   * src.toString('utf8', s, e). Printable ASCII without `"` or backslash (nearly every kernel name) is
   * copied as it is; anything else takes the decode-and-stringify path, so that escapes and the
   * replacement of invalid UTF-8 are exactly the string's.
   */
  utf8String(src: Uint8Array, s: number, e: number): void {
    let plain = true;
    for (let i = s; i < e; i++) {
      const c = src[i]!;
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        plain = false;
        break;
      }
    }
    if (!plain) {
      const text = JSON.stringify(Buffer.from(src.buffer, src.byteOffset, src.length).toString('utf8', s, e));
      const at = this.reserve(text.length * 3);
      this.length = at + this.bytes.write(text, at, 'utf8');
      return;
    }
    const at = this.reserve(e - s + 2);
    const out = this.bytes;
    out[at] = 0x22;
    out.set(src.subarray(s, e), at + 1);
    out[at + 1 + e - s] = 0x22;
    this.length = at + e - s + 2;
  }

  /** The members written so far as the fields of one event; valid until the next write or reset(). */
  fields(): EncodedFields {
    return EncodedFields.fromBytes(this.bytes.subarray(0, this.length));
  }

  private ascii(text: string): void {
    const at = this.reserve(text.length);
    this.length = at + this.bytes.write(text, at, 'latin1');
  }
}

/** Writes a non-negative integer's decimal digits at `at`; returns the end. */
export function writeDecimal(buf: Uint8Array, at: number, n: number): number {
  if (n < 10) {
    buf[at] = 48 + n;
    return at + 1;
  }
  if (n < 0x80000000) {
    // Small integers: 32-bit arithmetic, which V8 keeps out of doubles.
    let digits = 2;
    for (let p = 100; p <= n; p *= 10) digits++;
    const end = at + digits;
    for (let i = end - 1; i >= at; i--) {
      const q = (n / 10) | 0;
      buf[i] = 48 + (n - q * 10);
      n = q;
    }
    return end;
  }
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  const end = at + digits;
  for (let i = end - 1; i >= at; i--) {
    const q = Math.floor(n / 10);
    buf[i] = 48 + (n - q * 10);
    n = q;
  }
  return end;
}

/** Writes n / 1000 (n a non-negative safe integer) as its exact decimal at `at`; returns the end. */
export function writeThousandths(buf: Uint8Array, at: number, n: number): number {
  const whole = Math.floor(n / 1000);
  let frac = n - whole * 1000;
  let end = writeDecimal(buf, at, whole);
  if (frac === 0) return end;
  buf[end++] = 46; // .
  let digits = 3;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  for (let i = digits - 1; i >= 0; i--) {
    buf[end + i] = 48 + (frac % 10);
    frac = (frac / 10) | 0;
  }
  return end + digits;
}
