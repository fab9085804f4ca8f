/**
 * Searches captured output (strings, objects, errors, byte arrays) for key material.
 *
 * A leak rarely looks like the key's lower-case hex: it is a Buffer in a log line, a base64 field in
 * a JSON result, a `Uint8Array(32) [ 12, 34, ... ]` from util.inspect, a bigint scalar, or the
 * 32-bit words a probe trace prints while writing a KMU slot. So the scanner does not search for a
 * fixed list of renderings. It extracts every byte sequence a text could encode (hex runs in both
 * nibble alignments and with separators, base64/base64url runs in all four alignments, decimal byte
 * lists, long decimal integers, JSON-serialised typed arrays), and looks them up in an index of
 * every 8-byte window of every secret, forwards and reversed. 8 bytes (64 bits) of a random key are
 * far too specific to occur by chance in test output, and short enough that a partial leak (half a
 * key, one KMU slot) is caught too.
 *
 * 32-bit words are handled separately: a probe trace that prints `0x1a2b3c4d` for each VALUE word
 * leaks the key one word at a time, in little-endian order. A single 32-bit match could be chance,
 * so a word hit needs two distinct words of the same secret in the same scanned document.
 */

export const WINDOW_BYTES = 8;

export interface NamedSecret {
  /** What it is, for the report: "MKEK run 3", "identity key nrf9160 k=12". Never the bytes. */
  label: string;
  bytes: Uint8Array;
}

export interface SecretHit {
  label: string;
  /** Where the hit was found: the document name plus a path inside it. */
  where: string;
  /** How it was encoded: hex, base64, decimal, bigint, bytes, words. */
  encoding: string;
  /** Byte offset in the secret of the first matching window (words: word indexes). */
  offset: string;
  /** A short excerpt around the hit, with the matching text masked, for locating it. */
  context: string;
}

interface WindowRef {
  secret: number;
  offset: number;
  reversed: boolean;
}

const HEX_RUN = /(?:0x)?[0-9a-f]{16,}/gi;
// Byte tokens with separators: "0c 22 ff", "0c:22:ff", "0x0c, 0x22", "<Buffer 0c 22 ...>".
const HEX_BYTE_LIST = /(?:0x)?[0-9a-f]{2}(?:(?:[\s:,;-]|\\n)+(?:0x)?[0-9a-f]{2}(?![0-9a-f])){7,}/gi;
// Base64 and base64url, allowing line breaks inside (PEM bodies).
const BASE64_RUN = /[A-Za-z0-9+/_-]{11,}(?:={0,2})(?:(?:\r?\n|\\n)[A-Za-z0-9+/_-]+={0,2})*/g;
// Decimal byte lists: "12, 34, 200", "12 34 200", util.inspect's multi-line arrays.
const DECIMAL_LIST = /(?<!\d)\d{1,3}(?!\d)(?:(?:\s*[,;]\s*|\s+|\\n\s*)\d{1,3}(?!\d)){7,}/g;
const LONG_DECIMAL = /\d{20,}/g;
// JSON of a typed array: {"0":12,"1":34,...}; the keys are dropped before the decimal pass.
const JSON_INDEX_KEY = /"\d+"\s*:\s*/g;
const WORD_HEX = /(?<![0-9a-z])(?:0x([0-9a-f]{1,8})|([0-9a-f]{8}))(?![0-9a-z])/gi;
const WORD_DECIMAL = /(?<![0-9.])\d{5,10}(?![0-9.])/g;

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function reversedCopy(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[bytes.length - 1 - i];
  return out;
}

export class SecretScanner {
  private readonly secrets: NamedSecret[] = [];
  /** hex of an 8-byte window -> where it comes from. */
  private readonly windows = new Map<string, WindowRef>();
  /** u32 value (either byte order) -> secret and word index. */
  private readonly words = new Map<number, { secret: number; word: number }[]>();

  constructor(secrets: Iterable<NamedSecret> = []) {
    for (const secret of secrets) this.add(secret.label, secret.bytes);
  }

  get size(): number {
    return this.secrets.length;
  }

  /** Adds a secret (a copy is kept, so the caller may zero its buffer afterwards). */
  add(label: string, bytes: Uint8Array): void {
    if (bytes.length < WINDOW_BYTES) throw new Error(`secret "${label}" is shorter than ${WINDOW_BYTES} bytes`);
    const copy = Uint8Array.from(bytes);
    if (copy.every((b) => b === copy[0])) return; // a constant buffer (all zero) says nothing
    const index = this.secrets.push({ label, bytes: copy }) - 1;
    for (const [source, reversed] of [
      [copy, false],
      [reversedCopy(copy), true],
    ] as const) {
      const hex = toHex(source);
      for (let offset = 0; offset + WINDOW_BYTES <= source.length; offset++) {
        const key = hex.slice(2 * offset, 2 * (offset + WINDOW_BYTES));
        // A window of one repeated byte (the erased tail of a slot a fault cut short) says nothing.
        if (/^(..)\1*$/.test(key)) continue;
        if (!this.windows.has(key)) this.windows.set(key, { secret: index, offset, reversed });
      }
    }
    const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
    for (let word = 0; word + 4 <= copy.length; word += 4) {
      const erasedOrZero = view.getUint32(word, true) === 0xffffffff || view.getUint32(word, true) === 0;
      if (erasedOrZero) continue; // an erased or zero word of a half-written slot is not key material
      for (const value of [view.getUint32(word, true), view.getUint32(word, false)]) {
        const list = this.words.get(value) ?? [];
        list.push({ secret: index, word: word / 4 });
        this.words.set(value, list);
      }
    }
  }

  /** Scans a whole document (a string, an object graph, an Error, bytes); returns every hit. */
  scan(document: unknown, name: string): SecretHit[] {
    const hits: SecretHit[] = [];
    const wordTokens = new Map<number, string>();
    const seen = new Set<unknown>();
    const visit = (value: unknown, path: string, depth: number): void => {
      if (value === null || value === undefined || depth > 64) return;
      if (typeof value === 'string') {
        this.scanText(value, `${name}${path}`, hits, wordTokens);
        return;
      }
      if (typeof value === 'number') {
        if (Number.isInteger(value) && value >= 0 && value <= 0xffffffff) wordTokens.set(value >>> 0, `${name}${path}`);
        return;
      }
      if (typeof value === 'bigint') {
        this.scanBytes(bigintBytes(value), `${name}${path}`, 'bigint', hits, '<bigint>');
        return;
      }
      if (typeof value !== 'object' && typeof value !== 'function') return;
      if (seen.has(value)) return;
      seen.add(value);
      if (ArrayBuffer.isView(value)) {
        const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
        this.scanBytes(bytes, `${name}${path}`, 'bytes', hits, `<${value.constructor.name} ${value.byteLength} bytes>`);
        return;
      }
      if (value instanceof ArrayBuffer) {
        this.scanBytes(new Uint8Array(value), `${name}${path}`, 'bytes', hits, '<ArrayBuffer>');
        return;
      }
      if (Array.isArray(value)) {
        if (value.length >= WINDOW_BYTES && value.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
          this.scanBytes(Uint8Array.from(value as number[]), `${name}${path}`, 'bytes', hits, '<number[]>');
        }
        value.forEach((item, i) => visit(item, `${path}[${i}]`, depth + 1));
        return;
      }
      if (value instanceof Map) {
        for (const [k, v] of value) {
          visit(k, `${path}<key>`, depth + 1);
          visit(v, `${path}.${String(k)}`, depth + 1);
        }
        return;
      }
      if (value instanceof Set) {
        let i = 0;
        for (const v of value) visit(v, `${path}{${i++}}`, depth + 1);
        return;
      }
      if (value instanceof Error) {
        // message, stack and cause are not enumerable; details/code usually are.
        visit(value.message, `${path}.message`, depth + 1);
        visit(value.stack, `${path}.stack`, depth + 1);
        visit((value as { cause?: unknown }).cause, `${path}.cause`, depth + 1);
      }
      for (const key of Reflect.ownKeys(value)) {
        if (typeof key === 'symbol') continue;
        let child: unknown;
        try {
          child = (value as Record<string, unknown>)[key];
        } catch {
          continue; // a throwing getter is not output
        }
        visit(key, `${path}<key>`, depth + 1);
        visit(child, `${path}.${key}`, depth + 1);
      }
    };
    visit(document, '', 0);
    this.checkWords(wordTokens, name, hits);
    return hits;
  }

  private scanText(text: string, where: string, hits: SecretHit[], wordTokens: Map<number, string>): void {
    if (text.length < 11) {
      this.collectWords(text, where, wordTokens);
      return;
    }
    for (const match of text.matchAll(HEX_RUN)) {
      const run = match[0].replace(/^0x/i, '');
      for (let shift = 0; shift < 2; shift++) {
        const aligned = run.slice(shift, shift + ((run.length - shift) & ~1));
        this.scanHex(aligned.toLowerCase(), where, 'hex', hits, excerpt(text, match.index ?? 0, match[0].length));
      }
    }
    for (const match of text.matchAll(HEX_BYTE_LIST)) {
      const bytes = match[0].replace(/\\n/g, ' ').match(/(?:0x)?([0-9a-f]{2})(?![0-9a-f])/gi) ?? [];
      const hex = bytes.map((b) => b.slice(-2).toLowerCase()).join('');
      this.scanHex(hex, where, 'hex list', hits, excerpt(text, match.index ?? 0, match[0].length));
    }
    for (const match of text.matchAll(BASE64_RUN)) {
      const run = match[0].replace(/\\n|\r?\n|=/g, '').replace(/-/g, '+').replace(/_/g, '/');
      for (let shift = 0; shift < 4; shift++) {
        const body = run.slice(shift);
        const usable = body.slice(0, body.length - (body.length % 4));
        if (usable.length < 12) continue;
        this.scanBytes(Buffer.from(usable, 'base64'), where, 'base64', hits, excerpt(text, match.index ?? 0, match[0].length));
      }
    }
    const withoutIndexKeys = text.replace(JSON_INDEX_KEY, '');
    for (const match of withoutIndexKeys.matchAll(DECIMAL_LIST)) {
      const numbers = (match[0].match(/\d{1,3}/g) ?? []).map(Number);
      if (numbers.some((n) => n > 255)) {
        // Split into the byte-sized stretches; a list of larger numbers is not a byte array.
        let stretch: number[] = [];
        for (const n of [...numbers, 256]) {
          if (n <= 255) stretch.push(n);
          else {
            if (stretch.length >= WINDOW_BYTES) this.scanBytes(Uint8Array.from(stretch), where, 'decimal', hits, excerpt(withoutIndexKeys, match.index ?? 0, match[0].length));
            stretch = [];
          }
        }
      } else {
        this.scanBytes(Uint8Array.from(numbers), where, 'decimal', hits, excerpt(withoutIndexKeys, match.index ?? 0, match[0].length));
      }
    }
    for (const match of text.matchAll(LONG_DECIMAL)) {
      this.scanBytes(bigintBytes(BigInt(match[0])), where, 'bigint', hits, excerpt(text, match.index ?? 0, match[0].length));
    }
    this.collectWords(text, where, wordTokens);
  }

  private collectWords(text: string, where: string, wordTokens: Map<number, string>): void {
    for (const match of text.matchAll(WORD_HEX)) {
      const value = parseInt(match[1] ?? match[2], 16) >>> 0;
      wordTokens.set(value, where);
    }
    for (const match of text.matchAll(WORD_DECIMAL)) {
      const value = Number(match[0]);
      if (value <= 0xffffffff) wordTokens.set(value >>> 0, where);
    }
  }

  private checkWords(wordTokens: Map<number, string>, name: string, hits: SecretHit[]): void {
    const found = new Map<number, Map<number, string>>(); // secret -> word index -> where
    for (const [value, where] of wordTokens) {
      for (const ref of this.words.get(value) ?? []) {
        const perSecret = found.get(ref.secret) ?? new Map<number, string>();
        perSecret.set(ref.word, where);
        found.set(ref.secret, perSecret);
      }
    }
    for (const [secret, perSecret] of found) {
      if (perSecret.size < 2) continue;
      hits.push({
        label: this.secrets[secret].label,
        where: [...new Set(perSecret.values())].join(', ') || name,
        encoding: 'words',
        offset: `words ${[...perSecret.keys()].sort((a, b) => a - b).join(',')}`,
        context: `${perSecret.size} of its 32-bit words appear as numbers`,
      });
    }
  }

  private scanHex(hex: string, where: string, encoding: string, hits: SecretHit[], context: string): void {
    for (let i = 0; i + 2 * WINDOW_BYTES <= hex.length; i += 2) {
      const ref = this.windows.get(hex.slice(i, i + 2 * WINDOW_BYTES));
      if (ref) {
        this.record(ref, where, encoding, hits, context);
        return; // one hit per run is enough to locate it
      }
    }
  }

  private scanBytes(bytes: Uint8Array, where: string, encoding: string, hits: SecretHit[], context: string): void {
    if (bytes.length < WINDOW_BYTES) return;
    this.scanHex(toHex(bytes), where, encoding, hits, context);
  }

  private record(ref: WindowRef, where: string, encoding: string, hits: SecretHit[], context: string): void {
    const label = this.secrets[ref.secret].label;
    if (hits.some((h) => h.label === label && h.where === where && h.encoding === encoding)) return;
    hits.push({ label, where, encoding: ref.reversed ? `${encoding} (reversed)` : encoding, offset: String(ref.offset), context });
  }
}

function bigintBytes(value: bigint): Uint8Array {
  let hex = (value < 0n ? -value : value).toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

/** The surroundings of a hit with the hit itself masked: reports must not re-leak the key. */
function excerpt(text: string, at: number, length: number): string {
  const before = text.slice(Math.max(0, at - 40), at);
  const after = text.slice(at + length, at + length + 40);
  return `${before}<${length} chars masked>${after}`.replace(/\s+/g, ' ');
}

/** Formats hits for a failure message (labels and places only, never bytes). */
export function describeHits(hits: SecretHit[]): string {
  return hits.map((h) => `${h.label}: ${h.encoding} at ${h.where} (offset ${h.offset}) … ${h.context}`).join('\n');
}
