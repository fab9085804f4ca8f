/** Small byte helpers for the simulator (hex parsing with operator-facing errors, word packing). */
import { TfmError } from '../errors';

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Parses hex (optional 0x, spaces, colons allowed) or copies a Uint8Array; checks the length. */
export function bytesFrom(value: Uint8Array | string, length: number | undefined, what: string): Uint8Array {
  let bytes: Uint8Array;
  if (value instanceof Uint8Array) {
    bytes = Uint8Array.from(value);
  } else if (typeof value === 'string') {
    const clean = value.trim().replace(/^0x/iu, '').replace(/[\s:_-]/gu, '');
    if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/u.test(clean)) {
      throw new TfmError('INVALID_PARAMETER', `${what} must be hexadecimal${length ? ` (${length * 2} hex digits)` : ''}.`);
    }
    bytes = Uint8Array.from(Buffer.from(clean, 'hex'));
  } else {
    throw new TfmError('INVALID_PARAMETER', `${what} must be a hex string or a Uint8Array.`);
  }
  if (length !== undefined && bytes.length !== length) {
    throw new TfmError('INVALID_PARAMETER', `${what} must be ${length} bytes (${length * 2} hex digits), got ${bytes.length}.`);
  }
  return bytes;
}

export function readU32LE(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

export function writeU32LE(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
  bytes[offset + 2] = (value >>> 16) & 0xff;
  bytes[offset + 3] = (value >>> 24) & 0xff;
}

export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0').toUpperCase()}`;
}
