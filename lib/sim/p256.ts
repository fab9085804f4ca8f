/**
 * The P-256 operations the simulated CryptoCell / PSA Crypto performs on the identity key, on
 * node:crypto (the simulator's own, independent of lib/keys): range check of a private scalar
 * (psa_import_key refuses 0 and >= n, SEC 1 section 3.2.1), its public key (psa_export_public_key:
 * uncompressed SEC 1, 65 bytes) and ES256 signing (psa_sign_hash: r || s, 64 bytes).
 */
import { createECDH, createPrivateKey, sign, type KeyObject } from 'node:crypto';

/** The P-256 group order n, big-endian (SEC 2 section 2.4.2). */
const ORDER = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');

/** 1 <= d < n for a 32-byte big-endian scalar. */
export function isValidP256Scalar(d: Uint8Array): boolean {
  if (d.length !== 32) return false;
  if (d.every((b) => b === 0)) return false;
  return Buffer.compare(Buffer.from(d.buffer, d.byteOffset, d.length), ORDER) < 0;
}

/** 0x04 || X || Y of d's public key. */
export function p256PublicKey(d: Uint8Array): Uint8Array {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(d));
  return Uint8Array.from(ecdh.getPublicKey(null, 'uncompressed'));
}

function privateKeyObject(d: Uint8Array): KeyObject {
  const pub = p256PublicKey(d);
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
  return createPrivateKey({ key: { kty: 'EC', crv: 'P-256', d: b64(d), x: b64(pub.subarray(1, 33)), y: b64(pub.subarray(33, 65)) }, format: 'jwk' });
}

/** ECDSA P-256 with SHA-256 over `message`, signature as r || s (COSE ES256, RFC 9053 section 2.1). */
export function es256Sign(d: Uint8Array, message: Uint8Array): Uint8Array {
  return Uint8Array.from(sign('sha256', message, { key: privateKeyObject(d), dsaEncoding: 'ieee-p1363' }));
}
