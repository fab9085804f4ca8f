/**
 * The identity key (TF-M's Initial Attestation Key): a secp256r1 key pair. The private scalar d is
 * drawn from the RandomSource by rejection sampling (FIPS 186-5 A.2.2: draw 256 bits, retry unless
 * 1 <= d < n), so a seeded source gives a repeatable key on the simulator.
 *
 * Remaining exposure: computing the public key means handing d to @noble/curves, which turns it into
 * a bigint (and the scalar multiplication's intermediates into more). A JavaScript bigint is
 * immutable and cannot be zeroed: it stays in the heap until the garbage collector reuses that
 * memory. We keep that to one conversion per key, made right after d is drawn (the range check
 * below compares bytes, so rejected draws never become bigints), keep no reference to anything noble
 * returns except the public point, and the caller zeroes d as soon as it is wrapped. Our own
 * Uint8Arrays are zeroed; noble's internal copies are out of our reach.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { TfmError } from '../errors';
import type { RandomSource } from '../random';

export const IDENTITY_PRIVATE_KEY_BYTES = 32;
export const IDENTITY_PUBLIC_KEY_BYTES = 65;

export interface IdentityPublicKey {
  /** Uncompressed SEC1: 0x04 || X || Y (65 bytes). */
  bytes: Uint8Array;
  hex: string;
  /** SubjectPublicKeyInfo PEM, for device registries. */
  pem: string;
  /** PSA attestation instance ID (UEID): 0x01 || SHA-256(uncompressed key), as older TF-M computes it. */
  instanceId: string;
}

const MAX_DRAWS = 64; // the chance one draw is out of range is about 2^-32

/** The order n of the P-256 group, big-endian. */
const P256_ORDER = Uint8Array.from(Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex'));

/**
 * 1 <= d < n, compared byte by byte (big-endian) without turning d into a bigint, and without an
 * early exit, so its time does not depend on where d first differs from n.
 */
export function isIdentityScalarInRange(d: Uint8Array): boolean {
  if (d.length !== IDENTITY_PRIVATE_KEY_BYTES) return false;
  let nonZero = 0;
  let decided = 0; // 1 once a byte differs from n's
  let less = 0; // d < n, from the first differing byte
  for (let i = 0; i < IDENTITY_PRIVATE_KEY_BYTES; i++) {
    const a = d[i]!;
    const b = P256_ORDER[i]!;
    nonZero |= a;
    const differs = a !== b ? 1 : 0;
    less |= (a < b ? 1 : 0) & differs & (decided ^ 1);
    decided |= differs;
  }
  return nonZero !== 0 && less === 1;
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

export function describePublicKey(uncompressed: Uint8Array): IdentityPublicKey {
  if (uncompressed.length !== IDENTITY_PUBLIC_KEY_BYTES || uncompressed[0] !== 0x04) {
    throw new TfmError('INVALID_PARAMETER', 'An identity public key must be 65 bytes of uncompressed SEC1 (0x04 || X || Y).');
  }
  const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
  const pem = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64url(uncompressed.subarray(1, 33)), y: b64url(uncompressed.subarray(33, 65)) },
    format: 'jwk',
  })
    .export({ type: 'spki', format: 'pem' })
    .toString();
  return {
    bytes: Uint8Array.from(uncompressed),
    hex: Buffer.from(uncompressed).toString('hex'),
    pem,
    instanceId: instanceIdFor(uncompressed),
  };
}

export function instanceIdFor(uncompressed: Uint8Array): string {
  return `01${createHash('sha256').update(uncompressed).digest('hex')}`;
}

/**
 * Public key of d (d is not modified). The one place d reaches @noble/curves, and so becomes a
 * bigint that cannot be zeroed (see the file comment): call it once per key.
 */
export function identityPublicKeyOf(d: Uint8Array): IdentityPublicKey {
  const point = p256.getPublicKey(d, false);
  try {
    return describePublicKey(point);
  } finally {
    point.fill(0); // public, but describePublicKey keeps its own copy
  }
}
