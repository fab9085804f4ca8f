/**
 * The simulated CryptoCell's own implementation of the identity-key wrapping model v1 (the shared
 * reference identity-key-model.md): the simulator checks the library, so it does not borrow the
 * library's code (lib/keys/wrapping-model.ts). Written on node:crypto only:
 *
 *   K(i) = AES-CMAC(MKEK, [i]_1 || label || 0x00 || deviceId || 0x01 0x00)   (SP 800-108 counter mode)
 *   KEK  = K(1) || K(2)
 *   blob = AES-256-ECB(KEK, d)
 *
 * AES-CMAC is RFC 4493 over raw AES-ECB blocks (createCipheriv 'aes-128-ecb' / 'aes-256-ecb',
 * padding off), subkeys K1/K2 by doubling in GF(2^128) with Rb = 0x87.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

const LABEL = 'tfm-provision identity key model v1';
const BLOCK = 16;

function ecbName(key: Uint8Array): string {
  if (key.length === 16) return 'aes-128-ecb';
  if (key.length === 32) return 'aes-256-ecb';
  throw new RangeError(`CryptoCell AES key must be 16 or 32 bytes (got ${key.length})`);
}

/** AES-ECB encryption of whole blocks, no padding. */
function ecbEncrypt(key: Uint8Array, data: Uint8Array): Buffer {
  const cipher = createCipheriv(ecbName(key), key, null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

function ecbDecrypt(key: Uint8Array, data: Uint8Array): Buffer {
  const decipher = createDecipheriv(ecbName(key), key, null);
  decipher.setAutoPadding(false);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

/** Doubling in GF(2^128) (RFC 4493 section 2.3): shift left one bit, xor Rb into the last byte on carry. */
function double(block: Uint8Array): Buffer {
  const out = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i++) out[i] = ((block[i]! << 1) | (i + 1 < BLOCK ? block[i + 1]! >>> 7 : 0)) & 0xff;
  if (block[0]! & 0x80) out[BLOCK - 1] ^= 0x87;
  return out;
}

/** AES-CMAC (RFC 4493) of `message` under `key` (16 or 32 bytes). */
export function aesCmac(key: Uint8Array, message: Uint8Array): Buffer {
  const l = ecbEncrypt(key, Buffer.alloc(BLOCK));
  const k1 = double(l);
  const k2 = double(k1);
  l.fill(0);
  const blocks = Math.max(1, Math.ceil(message.length / BLOCK));
  const complete = message.length > 0 && message.length % BLOCK === 0;
  const last = Buffer.alloc(BLOCK);
  const tailStart = (blocks - 1) * BLOCK;
  Buffer.from(message.buffer, message.byteOffset, message.length).copy(last, 0, tailStart);
  if (complete) {
    for (let i = 0; i < BLOCK; i++) last[i] ^= k1[i]!;
  } else {
    last[message.length - tailStart] = 0x80; // padding 10*
    for (let i = 0; i < BLOCK; i++) last[i] ^= k2[i]!;
  }
  // CBC-MAC with a zero IV: each block xored into the state, then encrypted.
  let x: Buffer = Buffer.alloc(BLOCK);
  for (let b = 0; b < blocks; b++) {
    const m = b === blocks - 1 ? last : message.subarray(b * BLOCK, (b + 1) * BLOCK);
    for (let i = 0; i < BLOCK; i++) x[i] ^= m[i]!;
    const next = ecbEncrypt(key, x);
    x.fill(0);
    x = next;
  }
  k1.fill(0);
  k2.fill(0);
  last.fill(0);
  return x;
}

/** KEK = K(1) || K(2) for this device; the caller zeroes it. */
export function cryptocellModelKek(mkek: Uint8Array, deviceId: Uint8Array): Buffer {
  if (deviceId.length !== 8) throw new RangeError('deviceId must be 8 bytes');
  const label = Buffer.from(LABEL, 'ascii');
  const input = Buffer.concat([Buffer.alloc(1), label, Buffer.from([0x00]), Buffer.from(deviceId), Buffer.from([0x01, 0x00])]);
  const kek = Buffer.alloc(32);
  for (let i = 1; i <= 2; i++) {
    input[0] = i;
    const k = aesCmac(mkek, input);
    k.copy(kek, BLOCK * (i - 1));
    k.fill(0);
  }
  input.fill(0);
  return kek;
}

/** What the simulated CryptoCell stores for a 32-byte identity key (nrf_cc3xx_platform_identity_key_store). */
export function cryptocellWrapIdentityKey(mkek: Uint8Array, deviceId: Uint8Array, d: Uint8Array): Uint8Array {
  if (d.length !== 32) throw new RangeError('identity key must be 32 bytes');
  const kek = cryptocellModelKek(mkek, deviceId);
  try {
    return Uint8Array.from(ecbEncrypt(kek, d));
  } finally {
    kek.fill(0);
  }
}

/** What the simulated CryptoCell decrypts slots 6/7 to (nrf_cc3xx_platform_identity_key_retrieve). */
export function cryptocellUnwrapIdentityKey(mkek: Uint8Array, deviceId: Uint8Array, blob: Uint8Array): Uint8Array {
  if (blob.length !== 32) throw new RangeError('identity key blob must be 32 bytes');
  const kek = cryptocellModelKek(mkek, deviceId);
  try {
    const d = ecbDecrypt(kek, blob);
    const out = Uint8Array.from(d);
    d.fill(0);
    return out;
  } finally {
    kek.fill(0);
  }
}
