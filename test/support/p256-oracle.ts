/**
 * P-256 facts for tests, computed another way than lib/crypto.ts: the public key through OpenSSL's
 * ECDH interface (EC_POINT_mul on a raw scalar, not the DER-parsed KeyObject the library uses), and
 * the scalar range with a bigint (fine in a test: these are not keys anyone uses).
 */
import { createECDH } from 'node:crypto';

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** Uncompressed public key (65 bytes) of the 32-byte scalar d. */
export function oraclePublicKey(d: Uint8Array): Uint8Array {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(d));
  return Uint8Array.from(ecdh.getPublicKey(null, 'uncompressed'));
}

/** 1 <= d < n, as a number comparison. */
export function oracleIsScalar(d: Uint8Array): boolean {
  if (d.length !== 32) return false;
  const value = BigInt(`0x${Buffer.from(d).toString('hex')}`);
  return value >= 1n && value < N;
}
