/**
 * The PSA instance ID (EAT ueid of type RAND, RFC 9783 section 3.2.1) TF-M derives from the identity
 * public key. Two formulas, by TF-M version (nrfconnect/sdk-trusted-firmware-m
 * secure_fw/partitions/initial_attestation/attest_asymmetric_key.c):
 * - '2.1' (TF-M 2.1.x, NCS up to v3.1): 0x01 || SHA-256(0x04 || X || Y);
 * - '2.2' (TF-M 2.2.0, NCS v3.2 on, "Attest: Refactor the instance-id computation"):
 *   0x01 || SHA-256(COSE_Key), the key as t_cose_key_encode() writes it: a map of kty (1) = EC2 (2),
 *   crv (-1) = P-256 (1), x (-2) and y (-3), in that order (75 bytes, MAX_ENCODED_COSE_KEY_SIZE).
 */
import { createHash } from 'node:crypto';
import { instanceIdFor } from '../keys/identity';
import { encodeCbor } from './cose';

export type InstanceIdFormula = '2.1' | '2.2';
export const INSTANCE_ID_FORMULAS: readonly InstanceIdFormula[] = ['2.1', '2.2'];

export function isInstanceIdFormula(value: unknown): value is InstanceIdFormula {
  return value === '2.1' || value === '2.2';
}

/** The COSE_Key TF-M 2.2 hashes, for an uncompressed SEC1 P-256 key. */
export function coseKeyOf(uncompressed: Uint8Array): Buffer {
  const key = new Map<number, unknown>([
    [1, 2],
    [-1, 1],
    [-2, Buffer.from(uncompressed.subarray(1, 33))],
    [-3, Buffer.from(uncompressed.subarray(33, 65))],
  ]);
  return encodeCbor(key);
}

/** Instance ID (hex, 33 bytes) of an uncompressed P-256 public key under a formula. */
export function instanceIdUnder(uncompressed: Uint8Array, formula: InstanceIdFormula): string {
  if (formula === '2.1') return instanceIdFor(uncompressed);
  return `01${createHash('sha256').update(coseKeyOf(uncompressed)).digest('hex')}`;
}
