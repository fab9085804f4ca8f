/**
 * Byte helpers for every layer (bottom of the import graph: imports only errors.ts): hexadecimal
 * formatting and parsing, little-endian halfwords and words as a 32-bit memory read returns them,
 * concatenation, comparison and zeroing of key material.
 */
import { TfmError } from './errors';

/** `0x` and eight upper-case hex digits, as addresses and words appear in plans and error details. */
export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** Lower-case hex of the bytes, no prefix. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const HEX_SEPARATORS = /[\s:_-]/gu;
const HEX_DIGITS = /^[0-9a-fA-F]*$/u;

/** Hex with optional 0x and separators (spaces, colons, underscores, dashes), or undefined. */
function parseHex(text: string): Uint8Array | undefined {
  const clean = text.trim().replace(/^0x/iu, '').replace(HEX_SEPARATORS, '');
  if (clean.length % 2 !== 0 || !HEX_DIGITS.test(clean)) return undefined;
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

/** Parses hex (see parseHex); a RangeError for anything else, for callers that word their own error. */
export function fromHex(text: string): Uint8Array {
  const bytes = parseHex(text);
  if (!bytes) throw new RangeError('not an even-length hexadecimal string');
  return bytes;
}

/**
 * Parses hex or copies a Uint8Array, then checks the length; `what` names the value in the
 * INVALID_PARAMETER error an operator sees.
 */
export function bytesFrom(value: Uint8Array | string, length: number | undefined, what: string): Uint8Array {
  let bytes: Uint8Array | undefined;
  if (value instanceof Uint8Array) {
    bytes = Uint8Array.from(value);
  } else if (typeof value === 'string') {
    bytes = parseHex(value);
    if (!bytes) throw new TfmError('INVALID_PARAMETER', `${what} must be hexadecimal${length ? ` (${length * 2} hex digits)` : ''}.`);
  } else {
    throw new TfmError('INVALID_PARAMETER', `${what} must be a hex string or a Uint8Array.`);
  }
  if (length !== undefined && bytes.length !== length) {
    throw new TfmError('INVALID_PARAMETER', `${what} must be ${length} bytes (${length * 2} hex digits), got ${bytes.length}.`);
  }
  return bytes;
}

/** Little-endian 16-bit halfword at `offset`. */
export function halfwordAt(bytes: Uint8Array, offset: number): number {
  return bytes[offset]! | (bytes[offset + 1]! << 8);
}

/** Little-endian 32-bit word at `offset`, as a 32-bit read of memory returns it. */
export function wordAt(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

export function setHalfwordAt(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
}

export function setWordAt(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
  bytes[offset + 2] = (value >>> 16) & 0xff;
  bytes[offset + 3] = (value >>> 24) & 0xff;
}

/** The simulator's names for wordAt / setWordAt (kept so its code reads as register access). */
export const readU32LE = wordAt;
export const writeU32LE = setWordAt;

/** A word as its four little-endian bytes. */
export function wordBytes(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  setWordAt(bytes, 0, value);
  return bytes;
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Every byte 0xFF: erased flash or OTP. */
export function isErased(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0xff);
}

/** Constant-time-ish equality (no early exit), for comparing key blobs read back. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Overwrites key material in place; undefined and null are ignored so `finally` blocks stay short. */
export function zeroize(...buffers: ReadonlyArray<Uint8Array | undefined | null>): void {
  for (const buffer of buffers) buffer?.fill(0);
}
