/**
 * The simulated CryptoCell's own wrapping-model implementation (lib/sim/cryptocell.ts) against the
 * published vectors: RFC 4493 section 4 for AES-CMAC, the shared reference identity-key-model.md for
 * the KEK and the blob. It is checked against the vectors, not against lib/keys, which it checks.
 */
import { aesCmac, cryptocellModelKek, cryptocellUnwrapIdentityKey, cryptocellWrapIdentityKey } from '../../lib/sim/cryptocell';
import { isValidP256Scalar, p256PublicKey } from '../../lib/sim/p256';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('simulated CryptoCell: AES-CMAC (RFC 4493 section 4 examples)', () => {
  const key = hex('2b7e151628aed2a6abf7158809cf4f3c');
  const m = '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411';
  it.each([
    ['empty message', '', 'bb1d6929e95937287fa37d129b756746'],
    ['one whole block', m.slice(0, 32), '070a16b46b4d4144f79bdd9dd04a287c'],
    ['40 bytes (padded last block)', m, 'dfa66747de9ae63030ca32611497c827'],
  ])('%s', (_name, message, mac) => {
    expect(toHex(aesCmac(key, hex(message)))).toBe(mac);
  });
});

describe('simulated CryptoCell: identity-key wrapping model v1 (reference vectors)', () => {
  const DEVICE_ID = hex('0123456789abcdef');
  const D = hex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721');
  const cases = [
    ['32-byte MKEK (nRF5340)', '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', '8e97862a1fa6252f2d3671f5f426192085d1ae6c5a8caf486a078e172ab465b3', 'c6da020fb45537bff374a922ab9d5c117b9a32cdee0d9b4096b79df7b37e36a2'],
    ['16-byte MKEK (nRF91)', '000102030405060708090a0b0c0d0e0f', 'f6faba95e0c9f0c7b3b6aec3eeecf6887612de684c40b61378f6c58defbf341f', '47e4e3013a983218d71afc503a79655269a1f4ad0e79da304f5ff5d38d9ca88f'],
  ];
  it.each(cases)('%s: KEK, blob, and the blob unwraps to d', (_name, mkek, kek, blob) => {
    expect(toHex(cryptocellModelKek(hex(mkek), DEVICE_ID))).toBe(kek);
    expect(toHex(cryptocellWrapIdentityKey(hex(mkek), DEVICE_ID, D))).toBe(blob);
    expect(toHex(cryptocellUnwrapIdentityKey(hex(mkek), DEVICE_ID, hex(blob)))).toBe(toHex(D));
  });

  it('a blob unwrapped on another device ID is not d', () => {
    const mkek = hex(cases[0]![1]!);
    expect(toHex(cryptocellUnwrapIdentityKey(mkek, hex('0123456789abcdee'), hex(cases[0]![3]!)))).not.toBe(toHex(D));
  });
});

describe('simulated PSA Crypto: P-256', () => {
  it('accepts 1 <= d < n only', () => {
    expect(isValidP256Scalar(new Uint8Array(32))).toBe(false);
    expect(isValidP256Scalar(hex('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'))).toBe(false);
    expect(isValidP256Scalar(hex('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550'))).toBe(true);
    expect(isValidP256Scalar(hex('01'.padStart(64, '0')))).toBe(true);
  });
  it('d = 1 gives the generator G (SEC 2 section 2.4.2)', () => {
    expect(toHex(p256PublicKey(hex('01'.padStart(64, '0'))))).toBe(
      '046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5',
    );
  });
});
