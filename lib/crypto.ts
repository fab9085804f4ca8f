/**
 * The package's cryptographic primitives, all on node:crypto (OpenSSL): AES-ECB, AES-CMAC and
 * P-256. node:crypto loads under any CommonJS runtime (Jest's included) with no transform, which
 * the ESM-only @noble packages did not (issue 15).
 *
 * Key hygiene. Key bytes live in Uint8Arrays/Buffers that this module zeroes (its own) or that
 * the caller zeroes (theirs). What it cannot zero: node:crypto copies a key into OpenSSL objects
 *  - AES: the cipher context (EVP_CIPHER_CTX and the AES key schedule) behind each Cipher object;
 *  - P-256: the EVP_PKEY (private scalar as an OpenSSL BIGNUM) behind a private KeyObject;
 * and frees them when the JavaScript object is garbage-collected. OpenSSL 3 clears those on free
 * (providers/implementations/ciphers/cipher_aes.c aes_freectx: OPENSSL_clear_free of the context;
 * crypto/ec/ec_key.c EC_KEY_free: BN_clear_free of the private key), but the moment is the
 * collector's. No copy lives in the JavaScript heap (no bigint, no string), and no cipher or
 * private key object outlives the call that made it.
 */
import { createCipheriv, createDecipheriv, createECDH, createPrivateKey, createPublicKey, sign as signWith, verify as verifyWith, type KeyObject } from 'node:crypto';
import { TfmError } from './errors';

const BLOCK = 16;

function aesName(key: Uint8Array): string {
  if (key.length === 16) return 'aes-128-ecb';
  if (key.length === 32) return 'aes-256-ecb';
  // Lengths only: the value is key material.
  throw new TfmError('INVALID_PARAMETER', `An AES key must be 16 or 32 bytes (got ${key.length}).`);
}

function checkBlocks(data: Uint8Array): void {
  if (data.length % BLOCK !== 0) throw new TfmError('INVALID_PARAMETER', `AES-ECB without padding takes whole 16-byte blocks (got ${data.length} bytes).`);
}

/** A Buffer over the same memory (no copy), which node:crypto wants for keys. */
function view(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Collects cipher output into one new Uint8Array and zeroes the chunks node:crypto returned. */
function collect(chunks: Buffer[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
    chunk.fill(0);
  }
  return out;
}

/** AES-128/256-ECB encryption of whole blocks, no padding (NIST SP 800-38A 6.1). */
export function aesEcbEncrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  checkBlocks(data);
  const cipher = createCipheriv(aesName(key), view(key), null).setAutoPadding(false);
  return collect([cipher.update(data), cipher.final()], data.length);
}

/** Inverse of aesEcbEncrypt. */
export function aesEcbDecrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  checkBlocks(data);
  const decipher = createDecipheriv(aesName(key), view(key), null).setAutoPadding(false);
  return collect([decipher.update(data), decipher.final()], data.length);
}

/** One AES block encrypter for a key; `close()` ends the cipher (and zeroes what it can). */
function blockCipher(key: Uint8Array): { encrypt(block: Uint8Array, out: Uint8Array): void; close(): void } {
  const cipher = createCipheriv(aesName(key), view(key), null).setAutoPadding(false);
  return {
    encrypt(block, out) {
      const result = cipher.update(block); // ECB without padding: one block in, one block out
      out.set(result);
      result.fill(0);
    },
    close() {
      cipher.final().fill(0);
    },
  };
}

/** Doubling in GF(2^128) as SP 800-38B 6.1 uses it: shift left by one, XOR Rb = 0x87 on carry. */
function double(input: Uint8Array, out: Uint8Array): void {
  const carry = input[0]! >> 7;
  for (let i = 0; i < BLOCK - 1; i++) out[i] = ((input[i]! << 1) | (input[i + 1]! >> 7)) & 0xff;
  // Constant time: the mask is 0x87 or 0, never a branch on key-derived bits.
  out[BLOCK - 1] = ((input[BLOCK - 1]! << 1) & 0xff) ^ (0x87 & -carry);
}

/**
 * AES-CMAC (NIST SP 800-38B, RFC 4493) with a 16- or 32-byte key: the 16-byte tag. Written over
 * single-block AES because node:crypto has no CMAC cipher (OpenSSL's EVP_MAC is not exposed).
 */
export function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  const aes = blockCipher(key);
  const l = new Uint8Array(BLOCK);
  const k1 = new Uint8Array(BLOCK);
  const k2 = new Uint8Array(BLOCK);
  const x = new Uint8Array(BLOCK);
  const y = new Uint8Array(BLOCK);
  try {
    // Subkeys (RFC 4493 2.3): L = AES(K, 0^128), K1 = dbl(L), K2 = dbl(K1).
    aes.encrypt(l, l);
    double(l, k1);
    double(k1, k2);
    // n blocks, at least one; the last is complete (XOR K1) or padded with 10* (XOR K2).
    const n = Math.max(1, Math.ceil(message.length / BLOCK));
    const complete = message.length > 0 && message.length % BLOCK === 0;
    for (let i = 0; i < n - 1; i++) {
      for (let j = 0; j < BLOCK; j++) y[j] = x[j]! ^ message[i * BLOCK + j]!;
      aes.encrypt(y, x);
    }
    const lastStart = (n - 1) * BLOCK;
    const lastLength = message.length - lastStart;
    for (let j = 0; j < BLOCK; j++) {
      const m = j < lastLength ? message[lastStart + j]! : j === lastLength ? 0x80 : 0x00;
      y[j] = x[j]! ^ m ^ (complete ? k1[j]! : k2[j]!);
    }
    const tag = new Uint8Array(BLOCK);
    aes.encrypt(y, tag);
    return tag;
  } finally {
    aes.close();
    for (const b of [l, k1, k2, x, y]) b.fill(0);
  }
}

/** The order n of the P-256 group, big-endian (SEC 2 2.4.2). */
const P256_ORDER = Uint8Array.from(Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex'));
export const P256_SCALAR_BYTES = 32;
export const P256_POINT_BYTES = 65;

/**
 * 1 <= d < n, compared byte by byte (big-endian) without turning d into a number, and without an
 * early exit, so its time does not depend on where d first differs from n.
 */
export function isP256Scalar(d: Uint8Array): boolean {
  if (!(d instanceof Uint8Array) || d.length !== P256_SCALAR_BYTES) return false;
  let nonZero = 0;
  let decided = 0; // 1 once a byte differs from n's
  let less = 0; // d < n, from the first differing byte
  for (let i = 0; i < P256_SCALAR_BYTES; i++) {
    const a = d[i]!;
    const b = P256_ORDER[i]!;
    nonZero |= a;
    const differs = a !== b ? 1 : 0;
    less |= (a < b ? 1 : 0) & differs & (decided ^ 1);
    decided |= differs;
  }
  return nonZero !== 0 && less === 1;
}

// SEC 1 ECPrivateKey (RFC 5915) for P-256 without the optional public key:
// SEQUENCE { INTEGER 1, OCTET STRING d (32), [0] OID prime256v1 }. OpenSSL derives the public point.
const SEC1_HEAD = Buffer.from('30310201010420', 'hex');
const SEC1_TAIL = Buffer.from('a00a06082a8648ce3d030107', 'hex');

/**
 * A private KeyObject for the P-256 scalar d (d is not modified). The DER this builds around d is
 * zeroed before returning; the KeyObject holds OpenSSL's own copy (see the file comment), so use it
 * within one call and drop it.
 */
function p256PrivateKey(d: Uint8Array): KeyObject {
  if (!isP256Scalar(d)) throw new TfmError('INVALID_PARAMETER', 'A P-256 private key must be 32 bytes with 1 <= d < n.');
  const der = Buffer.alloc(SEC1_HEAD.length + P256_SCALAR_BYTES + SEC1_TAIL.length);
  try {
    SEC1_HEAD.copy(der, 0);
    der.set(d, SEC1_HEAD.length);
    SEC1_TAIL.copy(der, SEC1_HEAD.length + P256_SCALAR_BYTES);
    return createPrivateKey({ key: der, format: 'der', type: 'sec1' });
  } finally {
    der.fill(0);
  }
}

/**
 * Q = d·G on P-256, uncompressed (65 bytes). d is not modified. Through OpenSSL's ECDH object: one
 * scalar multiplication, about a tenth of the CPU of a KeyObject import and JWK export (issue 16,
 * docs/performance.md); d goes straight into OpenSSL's BIGNUM (no JS copy), freed with the object.
 */
export function p256PublicKey(d: Uint8Array): Uint8Array {
  if (!isP256Scalar(d)) throw new TfmError('INVALID_PARAMETER', 'A P-256 private key must be 32 bytes with 1 <= d < n.');
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey();
  return new Uint8Array(point.buffer, point.byteOffset, point.byteLength);
}

// P-256 (SEC 2 2.4.2 secp256r1): y^2 = x^3 - 3x + b over GF(p).
const P256_P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

/** Whether `point` is an uncompressed SEC 1 point on P-256 (coordinates below p, the curve equation
 *  holds). Public data only: plain bigint arithmetic, about 6 us (a KeyObject import is 100+ us). */
export function isP256Point(point: Uint8Array): boolean {
  if (point.length !== P256_POINT_BYTES || point[0] !== 0x04) return false;
  const x = BigInt(`0x${Buffer.from(point.subarray(1, 33)).toString('hex')}`);
  const y = BigInt(`0x${Buffer.from(point.subarray(33, 65)).toString('hex')}`);
  if (x >= P256_P || y >= P256_P) return false;
  const mod = (a: bigint): bigint => ((a % P256_P) + P256_P) % P256_P;
  return mod(y * y) === mod(x * x * x - 3n * x + P256_B);
}

/** SubjectPublicKeyInfo PEM of a point on P-256 (as KeyObject.export({type:'spki',format:'pem'}) writes it). */
export function p256PublicKeyPem(point: Uint8Array): string {
  if (!isP256Point(point)) throw new TfmError('INVALID_PARAMETER', 'A P-256 public key must be a point on the curve in 65 bytes of uncompressed SEC 1 (0x04 || X || Y).');
  const base64 = Buffer.concat([P256_SPKI_PREFIX, point]).toString('base64');
  return `-----BEGIN PUBLIC KEY-----\n${base64.replace(/(.{64})/gu, '$1\n')}\n-----END PUBLIC KEY-----\n`;
}

/** A public KeyObject from an uncompressed SEC 1 point; INVALID_PARAMETER when not on the curve. */
export function p256PublicKeyObject(point: Uint8Array): KeyObject {
  if (point.length !== P256_POINT_BYTES || point[0] !== 0x04) {
    throw new TfmError('INVALID_PARAMETER', 'A P-256 public key must be 65 bytes of uncompressed SEC 1 (0x04 || X || Y).');
  }
  const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
  try {
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64url(point.subarray(1, 33)), y: b64url(point.subarray(33, 65)) }, format: 'jwk' });
  } catch (error) {
    throw new TfmError('INVALID_PARAMETER', 'The P-256 public key is not a point on the curve.', { cause: error });
  }
}

/** ECDSA P-256 with SHA-256 over `message`: raw r || s (64 bytes, IEEE P1363), as COSE ES256 wants. */
export function p256Sign(d: Uint8Array, message: Uint8Array): Uint8Array {
  const signature = signWith('sha256', message, { key: p256PrivateKey(d), dsaEncoding: 'ieee-p1363' });
  return new Uint8Array(signature.buffer, signature.byteOffset, signature.byteLength);
}

/** Checks a raw r || s ECDSA P-256 / SHA-256 signature against an uncompressed public key. */
export function p256Verify(point: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return verifyWith('sha256', message, { key: p256PublicKeyObject(point), dsaEncoding: 'ieee-p1363' }, signature);
}
