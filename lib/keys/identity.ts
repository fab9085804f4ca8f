/**
 * The identity key (TF-M's Initial Attestation Key): a secp256r1 key pair. The private scalar d is
 * drawn from the RandomSource by rejection sampling (FIPS 186-5 A.2.2: draw 256 bits, retry unless
 * 1 <= d < n), so a seeded source gives a repeatable key on the simulator.
 *
 * Where d goes: the public key is computed by OpenSSL through node:crypto (lib/crypto.ts), which
 * copies d into a private KeyObject (an OpenSSL BIGNUM, cleared by OpenSSL when the object is
 * freed, at a time the garbage collector chooses). d never becomes a JavaScript bigint or string;
 * the DER lib/crypto.ts wraps it in is zeroed at once, and the caller zeroes d as soon as it is
 * wrapped. (Before issue 15 @noble/curves turned d into an immutable bigint that could not be
 * zeroed at all.)
 */
import { isP256Scalar, p256PublicKey, p256PublicKeyPem } from '../crypto';
import { TfmError } from '../errors';
import { DEFAULT_INSTANCE_ID_FORMULA, instanceIdUnder, type InstanceIdFormula } from './instance-id';
import type { RandomSource } from '../random';

export const IDENTITY_PRIVATE_KEY_BYTES = 32;
export const IDENTITY_PUBLIC_KEY_BYTES = 65;

export interface IdentityPublicKey {
  /** Uncompressed SEC1: 0x04 || X || Y (65 bytes). */
  bytes: Uint8Array;
  hex: string;
  /** SubjectPublicKeyInfo PEM, for device registries. */
  pem: string;
  /** PSA attestation instance ID (UEID) under `instanceIdFormula` (keys/instance-id.ts). */
  instanceId: string;
  /** Which TF-M's formula gave instanceId: '2.1' (TF-M <= 2.1.x, NCS <= 3.1) or '2.2' (TF-M >= 2.2.0, NCS >= 3.2). */
  instanceIdFormula: InstanceIdFormula;
}

const MAX_DRAWS = 64; // the chance one draw is out of range is about 2^-32

/** 1 <= d < n for P-256, on the bytes, in constant time (lib/crypto.ts isP256Scalar). */
export function isIdentityScalarInRange(d: Uint8Array): boolean {
  return isP256Scalar(d);
}

export function generateIdentityPrivateKey(random: RandomSource): Uint8Array {
  const d = new Uint8Array(IDENTITY_PRIVATE_KEY_BYTES);
  for (let attempt = 0; attempt < MAX_DRAWS; attempt++) {
    random.fill(d);
    if (isIdentityScalarInRange(d)) return d;
  }
  d.fill(0);
  throw new TfmError('INTERNAL_ERROR', 'The random source keeps returning values outside the P-256 key range; it is broken.');
}

export function describePublicKey(uncompressed: Uint8Array, formula: InstanceIdFormula = DEFAULT_INSTANCE_ID_FORMULA): IdentityPublicKey {
  if (uncompressed.length !== IDENTITY_PUBLIC_KEY_BYTES || uncompressed[0] !== 0x04) {
    throw new TfmError('INVALID_PARAMETER', 'An identity public key must be 65 bytes of uncompressed SEC1 (0x04 || X || Y).');
  }
  const pem = p256PublicKeyPem(uncompressed); // checks the point is on the curve
  return {
    bytes: Uint8Array.from(uncompressed),
    hex: Buffer.from(uncompressed).toString('hex'),
    pem,
    instanceId: instanceIdUnder(uncompressed, formula),
    instanceIdFormula: formula,
  };
}

/** The TF-M 2.1 instance ID, 0x01 || SHA-256(uncompressed key) (instanceIdUnder(key, '2.1')). */
export function instanceIdFor(uncompressed: Uint8Array): string {
  return instanceIdUnder(uncompressed, '2.1');
}

/** Public key of d (d is not modified; see the file comment for the copy OpenSSL makes). */
export function identityPublicKeyOf(d: Uint8Array, formula: InstanceIdFormula = DEFAULT_INSTANCE_ID_FORMULA): IdentityPublicKey {
  const point = p256PublicKey(d);
  try {
    return describePublicKey(point, formula);
  } finally {
    point.fill(0); // public, but describePublicKey keeps its own copy
  }
}
