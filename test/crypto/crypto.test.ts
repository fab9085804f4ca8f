/**
 * lib/crypto.ts against published vectors: AES-CMAC from RFC 4493 section 4 (AES-128) and NIST
 * SP 800-38B appendix D.3 (AES-256, the MKEK size on nRF5340), AES-ECB from SP 800-38A F.1, the
 * P-256 key pair of RFC 6979 A.2.5, and the wrapping-model vectors of identity-key-model.md.
 */
import { createECDH, createPublicKey, verify } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { aesCmac, aesEcbDecrypt, aesEcbEncrypt, isP256Point, isP256Scalar, p256PublicKey, p256PublicKeyObject, p256PublicKeyPem, p256Sign, p256Verify } from '../../lib/crypto';
import { deriveModelKek, unwrapIdentityKeyModel, wrapIdentityKeyModel } from '../../lib/keys/wrapping-model';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// SP 800-38A / RFC 4493 example plaintext, 64 bytes.
const M = hex(`6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
               30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710`);

describe('AES-CMAC', () => {
  const k128 = hex('2b7e151628aed2a6abf7158809cf4f3c');
  const k256 = hex('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4');

  test.each([
    [0, 'bb1d6929e95937287fa37d129b756746'],
    [16, '070a16b46b4d4144f79bdd9dd04a287c'],
    [40, 'dfa66747de9ae63030ca32611497c827'],
    [64, '51f0bebf7e3b9d92fc49741779363cfe'],
  ])('AES-128, %i-byte message, gives the RFC 4493 tag', (length, tag) => {
    expect(toHex(aesCmac(k128, M.subarray(0, length)))).toBe(tag);
  });

  test.each([
    [0, '028962f61b7bf89efc6b551f4667d983'],
    [16, '28a7023f452e8f82bd4bf28d8c37c35c'],
    [40, 'aaf3d8f1de5640c232f5b169b9c911e6'],
    [64, 'e1992190549f6ed5696a2c056c315410'],
  ])('AES-256, %i-byte message, gives the SP 800-38B D.3 tag', (length, tag) => {
    expect(toHex(aesCmac(k256, M.subarray(0, length)))).toBe(tag);
  });

  test('leaves the key and the message as they were', () => {
    const key = Uint8Array.from(k128);
    const message = M.slice(0, 40);
    aesCmac(key, message);
    expect(key).toEqual(k128);
    expect(message).toEqual(M.subarray(0, 40));
  });

  test('refuses a key that is neither 16 nor 32 bytes, without echoing it', () => {
    expect(() => aesCmac(new Uint8Array(24).fill(0xab), M)).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER', message: expect.not.stringContaining('ab') }));
  });
});

describe('AES-ECB without padding', () => {
  test('AES-128 gives the SP 800-38A F.1.1 ciphertext, and decrypts back', () => {
    const key = hex('2b7e151628aed2a6abf7158809cf4f3c');
    const c = aesEcbEncrypt(key, M);
    expect(toHex(c)).toBe('3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4');
    expect(aesEcbDecrypt(key, c)).toEqual(M);
  });

  test('AES-256 gives the SP 800-38A F.1.5 ciphertext', () => {
    const key = hex('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4');
    expect(toHex(aesEcbEncrypt(key, M.subarray(0, 16)))).toBe('f3eed1bdb5d2a03c064b5a7e3db181f8');
  });

  test('takes whole blocks only', () => {
    expect(() => aesEcbEncrypt(new Uint8Array(16), new Uint8Array(17))).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }));
  });
});

describe('the identity-key wrapping model on node:crypto', () => {
  const deviceId = hex('0123456789abcdef');
  const d = hex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721');

  test('a 32-byte MKEK gives the reference KEK and blob', () => {
    const mkek = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
    expect(toHex(deriveModelKek(mkek, deviceId))).toBe('8e97862a1fa6252f2d3671f5f426192085d1ae6c5a8caf486a078e172ab465b3');
    const blob = wrapIdentityKeyModel(mkek, deviceId, d);
    expect(toHex(blob)).toBe('c6da020fb45537bff374a922ab9d5c117b9a32cdee0d9b4096b79df7b37e36a2');
    expect(unwrapIdentityKeyModel(mkek, deviceId, blob)).toEqual(d);
  });

  test('a 16-byte MKEK (nRF91) gives the reference KEK and blob', () => {
    const mkek = hex('000102030405060708090a0b0c0d0e0f');
    expect(toHex(deriveModelKek(mkek, deviceId))).toBe('f6faba95e0c9f0c7b3b6aec3eeecf6887612de684c40b61378f6c58defbf341f');
    expect(toHex(wrapIdentityKeyModel(mkek, deviceId, d))).toBe('47e4e3013a983218d71afc503a79655269a1f4ad0e79da304f5ff5d38d9ca88f');
  });
});

describe('P-256', () => {
  // RFC 6979 A.2.5.
  const d = hex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721');
  const q = hex(`04 60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6
                    7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299`);

  test('the public key of the RFC 6979 A.2.5 private key is its published point', () => {
    expect(toHex(p256PublicKey(d))).toBe(toHex(q));
  });

  test('agrees with OpenSSL ECDH on random keys (a second path through the library)', () => {
    for (let i = 0; i < 8; i++) {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      expect(toHex(p256PublicKey(ecdh.getPrivateKey()))).toBe(ecdh.getPublicKey('hex', 'uncompressed'));
    }
  });

  test('the scalar range check accepts exactly 1 <= d < n', () => {
    const n = hex('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
    const nMinus1 = hex('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550');
    const one = new Uint8Array(32);
    one[31] = 1;
    expect([isP256Scalar(new Uint8Array(32)), isP256Scalar(one), isP256Scalar(nMinus1), isP256Scalar(n), isP256Scalar(new Uint8Array(32).fill(0xff)), isP256Scalar(new Uint8Array(31).fill(1))]).toEqual([
      false,
      true,
      true,
      false,
      false,
      false,
    ]);
    expect(() => p256PublicKey(n)).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }));
  });

  test('signs raw r || s (64 bytes) that OpenSSL verifies, and rejects a changed message', () => {
    const message = Buffer.from('sample');
    const signature = p256Sign(d, message);
    expect(signature.length).toBe(64);
    const spki = createPublicKey({ key: Buffer.concat([Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), q]), format: 'der', type: 'spki' });
    expect(verify('sha256', message, { key: spki, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
    expect(p256Verify(q, message, signature)).toBe(true);
    expect(p256Verify(q, Buffer.from('samplf'), signature)).toBe(false);
  });

  test('a point not on the curve is refused', () => {
    const bad = Uint8Array.from(q);
    bad[64] ^= 1;
    expect(() => p256PublicKeyObject(bad)).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }));
    expect(() => p256PublicKeyPem(bad)).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }));
  });

  test('the curve check and the PEM agree with OpenSSL on random points, and refuse what OpenSSL refuses', () => {
    for (let i = 0; i < 16; i++) {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const point = Uint8Array.from(ecdh.getPublicKey());
      expect(isP256Point(point)).toBe(true);
      const spki = createPublicKey({ key: Buffer.concat([Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), point]), format: 'der', type: 'spki' });
      expect(p256PublicKeyPem(point)).toBe(spki.export({ type: 'spki', format: 'pem' }).toString());
      const off = Uint8Array.from(point);
      off[1 + (i % 64)] ^= 1 << (i % 8);
      expect(isP256Point(off)).toBe(false);
      expect(() => p256PublicKeyObject(off)).toThrow();
    }
    // A coordinate of p or more is not a field element, whatever the equation says.
    const big = Uint8Array.from(q);
    big.fill(0xff, 1, 33);
    expect(isP256Point(big)).toBe(false);
    expect(isP256Point(q.subarray(0, 64))).toBe(false);
  });

  test('leaves d as it was', () => {
    const copy = Uint8Array.from(d);
    p256PublicKey(copy);
    p256Sign(copy, new Uint8Array(3));
    expect(copy).toEqual(d);
  });
});

test('the vectors published in docs/identity-key-model.md are what the library computes', () => {
  const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'identity-key-model.md'), 'utf8');
  const row = (name: string): Uint8Array => hex(new RegExp(`^\\| ${name.replace(/[()]/g, '\\$&')} \\| ([0-9a-f]+) \\|$`, 'm').exec(doc)![1]!);
  const deviceId = row('deviceId');
  const d = row('d');
  expect(toHex(deriveModelKek(row('MKEK (32 bytes)'), deviceId))).toBe(toHex(row('KEK')));
  expect(toHex(wrapIdentityKeyModel(row('MKEK (32 bytes)'), deviceId, d))).toBe(toHex(row('blob')));
  expect(toHex(deriveModelKek(row('MKEK (16 bytes)'), deviceId))).toBe(toHex(row('KEK (16-byte MKEK)')));
  expect(toHex(wrapIdentityKeyModel(row('MKEK (16 bytes)'), deviceId, d))).toBe(toHex(row('blob (16-byte MKEK)')));
});
