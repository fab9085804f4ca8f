/**
 * The PSA instance ID (EAT ueid of type RAND, RFC 9783 section 3.2.1) TF-M derives from the identity
 * public key, by TF-M version (nrfconnect/sdk-trusted-firmware-m
 * secure_fw/partitions/initial_attestation/attest_asymmetric_key.c):
 * - '2.1' (TF-M up to 2.1.x: sdk-tfm v2.0.0-ncs1 .. ncs-v3.1.1, i.e. NCS up to v3.1;
 *   attest_calc_instance_id()): 0x01 || SHA-256(0x04 || X || Y), the raw psa_export_public_key();
 * - '2.2' (TF-M 2.2.0 on, from commit 2fe1f7ece "Attest: Refactor the instance-id computation",
 *   first in sdk-tfm ncs-v3.2.0, i.e. NCS v3.2 and later; compute_attest_key_hash()):
 *   0x01 || SHA-256(COSE_Key) with the key as t_cose_key_encode() (lib/ext/t_cose/src/t_cose_key.c)
 *   writes it: a definite map of kty (1) = EC2 (2), crv (-1) = P-256 (1), x (-2), y (-3), in that
 *   insertion order, 32-byte coordinates (75 bytes, MAX_ENCODED_COSE_KEY_SIZE).
 * It lives in keys/ because the run reports it (results, records) and the verifier re-derives it.
 */
import { createHash } from 'node:crypto';
import { Encoder } from 'cbor-x';
import { TfmError } from '../errors';

export type InstanceIdFormula = '2.1' | '2.2';
export const INSTANCE_ID_FORMULAS: readonly InstanceIdFormula[] = ['2.1', '2.2'];
/** The formula of current TF-M (2.2.0 and later, NCS v3.2 and later). */
export const DEFAULT_INSTANCE_ID_FORMULA: InstanceIdFormula = '2.2';

export function isInstanceIdFormula(value: unknown): value is InstanceIdFormula {
  return value === '2.1' || value === '2.2';
}

/**
 * The formula a TF-M version uses: '2.0' and '2.1' (any patch) hash the raw key, '2.2' and later the
 * COSE_Key. Refuses anything that is not a TF-M 2.x version (INVALID_PARAMETER).
 */
export function instanceIdFormulaForTfm(version: string): InstanceIdFormula {
  const m = /^v?2\.(\d+)(\.\d+)?$/.exec(String(version).trim());
  if (!m) throw new TfmError('INVALID_PARAMETER', `TF-M version must be 2.1 or 2.2 (or another 2.x, e.g. 2.1.2); got ${JSON.stringify(version)}.`);
  return Number(m[1]) <= 1 ? '2.1' : '2.2';
}

// Byte strings as major type 2, integer keys kept in insertion order (as QCBOR writes them).
const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false });

function checkKey(uncompressed: Uint8Array): void {
  if (uncompressed.length !== 65 || uncompressed[0] !== 0x04) {
    throw new TfmError('INVALID_PARAMETER', 'An identity public key must be 65 bytes of uncompressed SEC1 (0x04 || X || Y).');
  }
}

/** The COSE_Key (RFC 9052 section 7, RFC 9053 section 7.1.1) TF-M 2.2 hashes, for an uncompressed P-256 key. */
export function coseKeyOf(uncompressed: Uint8Array): Buffer {
  checkKey(uncompressed);
  const key = new Map<number, unknown>([
    [1, 2],
    [-1, 1],
    [-2, Buffer.from(uncompressed.subarray(1, 33))],
    [-3, Buffer.from(uncompressed.subarray(33, 65))],
  ]);
  return encoder.encode(key);
}

/** Recent instance IDs by formula and key (public data): one run asks for its key's ID several
 *  times (plan, intent record, result, verify), and the 2.2 formula CBOR-encodes the key first. */
const recentIds = new Map<string, string>();
const RECENT_IDS = 256;

/** Instance ID (hex, 33 bytes) of an uncompressed P-256 public key under a formula. */
export function instanceIdUnder(uncompressed: Uint8Array, formula: InstanceIdFormula): string {
  checkKey(uncompressed);
  const cacheKey = `${formula}:${Buffer.from(uncompressed.buffer, uncompressed.byteOffset, uncompressed.byteLength).toString('hex')}`;
  const known = recentIds.get(cacheKey);
  if (known !== undefined) return known;
  const hashed = formula === '2.1' ? uncompressed : coseKeyOf(uncompressed);
  const id = `01${createHash('sha256').update(hashed).digest('hex')}`;
  if (recentIds.size >= RECENT_IDS) recentIds.clear();
  recentIds.set(cacheKey, id);
  return id;
}
