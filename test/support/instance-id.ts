/**
 * The two TF-M instance IDs of a public key, written out by hand from the specifications so tests do
 * not check the code with itself: the COSE_Key is RFC 9052 section 7 / RFC 9053 section 7.1.1 (EC2
 * key: kty 1 = 2, crv -1 = 1 (P-256), x -2, y -3), in the order t_cose_key_encode() writes it, as
 * CBOR (RFC 8949): map of 4 (0xa4), small ints as one byte (0x01, 0x02, 0x20 = -1, 0x21 = -2,
 * 0x22 = -3), 32-byte strings with head 0x58 0x20.
 */
import { createHash } from 'node:crypto';

export function coseKeyByHand(uncompressed: Uint8Array): Buffer {
  const x = Buffer.from(uncompressed.subarray(1, 33));
  const y = Buffer.from(uncompressed.subarray(33, 65));
  return Buffer.concat([Buffer.from('a4' + '0102' + '2001' + '215820', 'hex'), x, Buffer.from('225820', 'hex'), y]);
}

/** TF-M >= 2.2.0: 0x01 || SHA-256(COSE_Key). */
export function instanceId22(uncompressed: Uint8Array): string {
  return '01' + createHash('sha256').update(coseKeyByHand(uncompressed)).digest('hex');
}

/** TF-M <= 2.1.x: 0x01 || SHA-256(0x04 || X || Y). */
export function instanceId21(uncompressed: Uint8Array): string {
  return '01' + createHash('sha256').update(uncompressed).digest('hex');
}
