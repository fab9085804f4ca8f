/** Formatting of addresses, words and byte strings for reports, plans and error details. */

export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(text: string): Uint8Array {
  const clean = text.trim().replace(/^0x/i, '').replace(/[\s:_-]/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new RangeError('not an even-length hexadecimal string');
  }
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

/** Little-endian 32-bit word at `offset`, as a 32-bit read of memory returns it. */
export function wordAt(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0;
}

export function halfwordAt(bytes: Uint8Array, offset: number): number {
  return bytes[offset] | (bytes[offset + 1] << 8);
}

export function isErased(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0xff);
}

/** Constant-time-ish equality (no early exit), for comparing key blobs read back. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
