import { BL_STORAGE_LCS, LIFECYCLE_HALFWORDS, LIFECYCLE_ORDER, LIFECYCLE_PROVISIONING_WORD } from '../../lib/targets/lifecycle';
import {
  NETWORK_IMAGE_MARKERS,
  NETWORK_IMAGE_STRINGS,
  PROVISIONING_IMAGE_MARKERS,
  PROVISIONING_IMAGE_STRINGS,
  SAMPLE_FAILURE_PREFIX,
  SAMPLE_FAILURES,
  SAMPLE_MESSAGES,
} from '../../lib/targets/provisioning-sample';
import { bytesEqual, concatBytes, fromHex, halfwordAt, hex32, setHalfwordAt, setWordAt, toHex, wordAt, wordBytes, zeroize, bytesFrom } from '../../lib/bytes';
import { TfmError } from '../../lib/errors';

describe('the provisioning sample as target facts', () => {
  it('holds the five success lines in the order main.c logs them (device-facts 1.1 steps 3, 6, 7, 9, 12)', () => {
    const positions = Object.values(SAMPLE_MESSAGES).map((line) => PROVISIONING_IMAGE_STRINGS.indexOf(line));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('lists every error line of the newest main.c (nine, with the return-code checks), each with the Failure: prefix the console classifier keys on', () => {
    const failures = Object.values(SAMPLE_FAILURES).filter((line) => line !== SAMPLE_FAILURES.lifecycleWas);
    expect(failures).toHaveLength(9);
    for (const line of failures) {
      expect(line.startsWith(SAMPLE_FAILURE_PREFIX)).toBe(true);
      expect(PROVISIONING_IMAGE_STRINGS).toContain(line);
    }
  });

  it('identifies images by distinctive strings only, never the generic Success!', () => {
    for (const marker of [...PROVISIONING_IMAGE_MARKERS, ...NETWORK_IMAGE_MARKERS]) expect(marker).not.toBe(SAMPLE_MESSAGES.success);
    expect(PROVISIONING_IMAGE_STRINGS).toEqual(expect.arrayContaining([...PROVISIONING_IMAGE_MARKERS]));
    expect(NETWORK_IMAGE_STRINGS).toEqual(expect.arrayContaining([...NETWORK_IMAGE_MARKERS]));
  });
});

describe('lifecycle encoding facts', () => {
  it('enters the halfwords one at a time, provisioning then secure then decommissioned (bl_storage.h)', () => {
    const entered = LIFECYCLE_ORDER.map((s) => Object.values(LIFECYCLE_HALFWORDS[s]).filter((h) => h === 0).length);
    expect(entered).toEqual([0, 1, 2, 3]);
    expect(LIFECYCLE_ORDER.map((s) => BL_STORAGE_LCS[s])).toEqual([1, 2, 3, 4]);
    expect(BL_STORAGE_LCS.INVALID).toBe(0);
  });

  it('writes PROVISIONING as a word whose low half enters lcs.provisioning and whose high half stays erased', () => {
    const word = wordBytes(LIFECYCLE_PROVISIONING_WORD);
    expect(halfwordAt(word, 0)).toBe(LIFECYCLE_HALFWORDS.PROVISIONING.provisioning);
    expect(halfwordAt(word, 2)).toBe(0xffff);
  });
});

describe('bytes', () => {
  it('reads and writes little-endian halfwords and words as memory holds them', () => {
    const b = new Uint8Array(8);
    setWordAt(b, 0, 0x12345678);
    setHalfwordAt(b, 4, 0xbeef);
    expect(toHex(b)).toBe('78563412efbe0000');
    expect(wordAt(b, 0)).toBe(0x12345678);
    expect(halfwordAt(b, 4)).toBe(0xbeef);
    expect(hex32(0xdeadbeef)).toBe('0xDEADBEEF');
  });

  it('parses hex with separators, and refuses odd or non-hex text with an operator-facing error', () => {
    expect(toHex(fromHex('0xAA:bb cc-dd'))).toBe('aabbccdd');
    expect(() => fromHex('abc')).toThrow(RangeError);
    expect(() => bytesFrom('zz', 1, 'The key')).toThrow(TfmError);
    expect(() => bytesFrom('aabb', 4, 'The key')).toThrow(/The key must be 4 bytes \(8 hex digits\), got 2/);
    const source = Uint8Array.of(1, 2);
    const copy = bytesFrom(source, 2, 'x');
    copy[0] = 9;
    expect(source[0]).toBe(1);
  });

  it('concatenates, compares and zeroes', () => {
    const joined = concatBytes(Uint8Array.of(1), Uint8Array.of(2, 3));
    expect(bytesEqual(joined, Uint8Array.of(1, 2, 3))).toBe(true);
    expect(bytesEqual(joined, Uint8Array.of(1, 2))).toBe(false);
    zeroize(joined, undefined);
    expect([...joined]).toEqual([0, 0, 0]);
  });
});
