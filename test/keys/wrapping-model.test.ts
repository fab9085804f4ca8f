import { deriveModelKek, unwrapIdentityKeyModel, wrapIdentityKeyModel } from '../../lib/keys/wrapping-model';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// Test vectors from the shared reference identity-key-model.md.
const MKEK32 = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const MKEK16 = hex('000102030405060708090a0b0c0d0e0f');
const DEVICE_ID = hex('0123456789abcdef');
const D = hex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721');

describe('identity-key wrapping model v1', () => {
  it('derives the published KEK from a 32-byte MKEK (nRF5340)', () => {
    expect(toHex(deriveModelKek(MKEK32, DEVICE_ID))).toBe('8e97862a1fa6252f2d3671f5f426192085d1ae6c5a8caf486a078e172ab465b3');
  });

  it('wraps to the published blob with a 32-byte MKEK', () => {
    expect(toHex(wrapIdentityKeyModel(MKEK32, DEVICE_ID, D))).toBe('c6da020fb45537bff374a922ab9d5c117b9a32cdee0d9b4096b79df7b37e36a2');
  });

  it('derives the published KEK and blob from a 16-byte MKEK (nRF91)', () => {
    expect(toHex(deriveModelKek(MKEK16, DEVICE_ID))).toBe('f6faba95e0c9f0c7b3b6aec3eeecf6887612de684c40b61378f6c58defbf341f');
    expect(toHex(wrapIdentityKeyModel(MKEK16, DEVICE_ID, D))).toBe('47e4e3013a983218d71afc503a79655269a1f4ad0e79da304f5ff5d38d9ca88f');
  });

  it('unwraps what it wrapped, for both MKEK sizes', () => {
    for (const mkek of [MKEK16, MKEK32]) {
      expect(toHex(unwrapIdentityKeyModel(mkek, DEVICE_ID, wrapIdentityKeyModel(mkek, DEVICE_ID, D)))).toBe(toHex(D));
    }
  });

  it('binds the blob to the device ID and the MKEK', () => {
    const blob = toHex(wrapIdentityKeyModel(MKEK32, DEVICE_ID, D));
    expect(toHex(wrapIdentityKeyModel(MKEK32, hex('0123456789abcdee'), D))).not.toBe(blob);
    const otherMkek = Uint8Array.from(MKEK32);
    otherMkek[31] ^= 1;
    expect(toHex(wrapIdentityKeyModel(otherMkek, DEVICE_ID, D))).not.toBe(blob);
  });

  it('leaves its inputs unchanged', () => {
    const mkek = Uint8Array.from(MKEK32);
    const d = Uint8Array.from(D);
    wrapIdentityKeyModel(mkek, DEVICE_ID, d);
    expect(toHex(mkek)).toBe(toHex(MKEK32));
    expect(toHex(d)).toBe(toHex(D));
  });

  it('rejects wrong lengths without echoing the bytes', () => {
    expect(() => wrapIdentityKeyModel(MKEK32.subarray(0, 24), DEVICE_ID, D)).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }));
    expect(() => wrapIdentityKeyModel(MKEK32, DEVICE_ID.subarray(0, 4), D)).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }));
    expect(() => unwrapIdentityKeyModel(MKEK32, DEVICE_ID, D.subarray(0, 31))).toThrow(/32 bytes/);
  });
});
