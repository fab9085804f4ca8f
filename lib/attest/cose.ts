/**
 * COSE_Sign1 (RFC 9052 section 4.2) decoding and ES256 verification for PSA attestation tokens.
 * CBOR is cbor-x's; this file only checks the shape the RFCs require of what cbor-x returns.
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { Decoder, Encoder, Tag } from 'cbor-x';

/** CBOR tag of COSE_Sign1 (RFC 9052 section 2). */
export const COSE_SIGN1_TAG = 18;
/** COSE header label 1 = alg; -7 = ES256 (RFC 9053 section 2.1). */
export const COSE_HEADER_ALG = 1;
export const COSE_ALG_ES256 = -7;

// Maps stay Maps so integer claim keys keep their type; no record extension; 64-bit integers as
// numbers are not needed by any PSA claim.
const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
// Byte strings as major type 2, never as tag 64 typed arrays.
const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false });

export class CoseFormatError extends Error {
  constructor(
    message: string,
    /** 'tag' when the CBOR is well formed but carries a tag other than COSE_Sign1. */
    readonly kind: 'cbor' | 'structure' | 'tag' = 'structure',
  ) {
    super(message);
  }
}

/** One CBOR data item from the whole buffer: truncated input and trailing bytes are errors. */
export function decodeCbor(bytes: Uint8Array, what: string): unknown {
  if (bytes.length === 0) throw new CoseFormatError(`${what} is empty`, 'cbor');
  try {
    // cbor-x throws "Data read, but end of buffer not reached" for trailing bytes and
    // "Unexpected end of CBOR data" for truncated input.
    return decoder.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    throw new CoseFormatError(`${what} is not one well-formed CBOR item: ${(error as Error).message}`, 'cbor');
  }
}

export function encodeCbor(value: unknown): Buffer {
  return encoder.encode(value);
}

export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

export interface CoseSign1 {
  tagged: boolean;
  /** The protected header exactly as sent (a bstr's content); it is what the signature covers. */
  protectedBytes: Uint8Array;
  protectedHeader: Map<unknown, unknown>;
  unprotectedHeader: Map<unknown, unknown>;
  payload: Uint8Array;
  signature: Uint8Array;
  /** The alg header, from the protected header (RFC 9052 section 3.1 recommends it there). */
  alg?: unknown;
}

export function decodeCoseSign1(token: Uint8Array): CoseSign1 {
  let item = decodeCbor(token, 'The token');
  let tagged = false;
  if (item instanceof Tag) {
    if (item.tag !== COSE_SIGN1_TAG) {
      const hint = item.tag === 17 ? ' (COSE_Mac0: a symmetric-key token, which needs the device key to check)' : item.tag === 61 ? ' (CWT: unwrap it first)' : '';
      throw new CoseFormatError(`The token carries CBOR tag ${item.tag}${hint}, not COSE_Sign1 (18).`, 'tag');
    }
    tagged = true;
    item = item.value;
  } else if (item instanceof Date) {
    // cbor-x turns tags 0 and 1 into Dates before we see them.
    throw new CoseFormatError('The token carries a date tag, not COSE_Sign1 (18).', 'tag');
  }
  if (!Array.isArray(item) || item.length !== 4) {
    throw new CoseFormatError('The token is not a COSE_Sign1 array of four elements (protected, unprotected, payload, signature).');
  }
  const [protectedBytes, unprotected, payload, signature] = item as unknown[];
  if (!isBytes(protectedBytes)) throw new CoseFormatError('The COSE_Sign1 protected header is not a byte string.');
  if (!(unprotected instanceof Map)) throw new CoseFormatError('The COSE_Sign1 unprotected header is not a map.');
  if (!isBytes(payload)) throw new CoseFormatError('The COSE_Sign1 payload is not a byte string (a detached payload is not a PSA token).');
  if (!isBytes(signature)) throw new CoseFormatError('The COSE_Sign1 signature is not a byte string.');
  let protectedHeader = new Map<unknown, unknown>();
  // RFC 9052 section 3: a zero-length bstr stands for an empty protected header.
  if (protectedBytes.length > 0) {
    const decoded = decodeCbor(protectedBytes, 'The protected header');
    if (!(decoded instanceof Map)) throw new CoseFormatError('The COSE_Sign1 protected header is not a CBOR map.');
    protectedHeader = decoded;
  }
  return {
    tagged,
    protectedBytes,
    protectedHeader,
    unprotectedHeader: unprotected,
    payload,
    signature,
    alg: protectedHeader.get(COSE_HEADER_ALG),
  };
}

/** Sig_structure for COSE_Sign1 (RFC 9052 section 4.4), with empty external AAD. */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Buffer {
  return encodeCbor(['Signature1', Buffer.from(protectedBytes), Buffer.alloc(0), Buffer.from(payload)]);
}

/** A KeyObject for an uncompressed SEC1 P-256 public key (0x04 || X || Y). */
export function p256PublicKey(uncompressed: Uint8Array): KeyObject {
  if (uncompressed.length !== 65 || uncompressed[0] !== 0x04) throw new Error('not a 65-byte uncompressed P-256 key');
  const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64url(uncompressed.subarray(1, 33)), y: b64url(uncompressed.subarray(33, 65)) }, format: 'jwk' });
}

/** ES256 over data: the COSE signature is r || s, 32 bytes each (RFC 9053 section 2.1). */
export function verifyEs256(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  try {
    return cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/** DER length octets (X.690 8.1.3). */
function derLength(n: number): number[] {
  return n < 0x80 ? [n] : [0x81, n];
}

/** The minimal DER INTEGER content of a big-endian unsigned value. */
function derInteger(bytes: Uint8Array): number[] {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const body = Array.from(bytes.subarray(start));
  if (body[0]! & 0x80) body.unshift(0); // keep it positive
  return [0x02, ...derLength(body.length), ...body];
}

/** COSE raw r || s to the DER ECDSA-Sig-Value (SEC 1 C.8, RFC 3279 2.2.3) that X.509 tools use. */
export function rawSignatureToDer(raw: Uint8Array): Buffer {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new Error('a raw ECDSA signature is r || s of equal lengths');
  const half = raw.length / 2;
  const seq = [...derInteger(raw.subarray(0, half)), ...derInteger(raw.subarray(half))];
  return Buffer.from([0x30, ...derLength(seq.length), ...seq]);
}

/** DER ECDSA-Sig-Value back to r || s, each left-padded to `size` bytes (32 for P-256). */
export function derSignatureToRaw(der: Uint8Array, size = 32): Buffer {
  let at = 0;
  const byte = (): number => {
    if (at >= der.length) throw new Error('truncated DER signature');
    return der[at++]!;
  };
  const length = (): number => {
    const first = byte();
    if (first < 0x80) return first;
    if (first !== 0x81) throw new Error('unsupported DER length');
    const n = byte();
    if (n < 0x80) throw new Error('non-minimal DER length');
    return n;
  };
  if (byte() !== 0x30) throw new Error('a DER signature is a SEQUENCE');
  const seqLength = length();
  if (at + seqLength !== der.length) throw new Error('DER signature length does not match');
  const out = Buffer.alloc(size * 2);
  for (let i = 0; i < 2; i++) {
    if (byte() !== 0x02) throw new Error('a DER signature holds two INTEGERs');
    const n = length();
    if (at + n > der.length) throw new Error('truncated DER integer');
    let value = der.subarray(at, at + n);
    at += n;
    if (value.length > 1 && value[0] === 0 && (value[1]! & 0x80) === 0) throw new Error('non-minimal DER integer');
    if (value[0] === 0 && value.length > 1) value = value.subarray(1);
    if (value.length > size) throw new Error('DER integer longer than the curve size');
    out.set(value, size * (i + 1) - value.length);
  }
  if (at !== der.length) throw new Error('bytes after the DER signature');
  return out;
}
