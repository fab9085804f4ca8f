import { getTarget, kmuDestAddress, kmuPermAddress, kmuValueAddress, targetFromPart, TARGETS } from '../../lib/targets';
import { TfmError } from '../../lib/errors';
import { seededRandom, cryptoRandom } from '../../lib/random';

describe('targets', () => {
  it('places KMU slot words where the UICR table says (device-facts 5.1)', () => {
    const t = getTarget('nrf5340');
    expect(kmuDestAddress(t, 2)).toBe(0x00ff8410);
    expect(kmuPermAddress(t, 2)).toBe(0x00ff8414);
    expect(kmuValueAddress(t, 2)).toBe(0x00ff8820);
    expect(kmuValueAddress(t, 7)).toBe(0x00ff8870);
    expect(kmuPermAddress(getTarget('nrf9160'), 6)).toBe(0x00ff8434);
  });

  it('identifies chips from FICR part numbers and rejects unknown parts', () => {
    expect(targetFromPart(0x5340, undefined)?.name).toBe('nrf5340');
    expect(targetFromPart(0xffffffff, 0x9160)?.name).toBe('nrf9160');
    expect(targetFromPart(0x9161, 0x9161)?.name).toBe('nrf9161');
    expect(targetFromPart(0x9151, 0x9151)?.name).toBe('nrf9151');
    expect(targetFromPart(0x52840, 0xffffffff)).toBeUndefined();
  });

  it('refuses an unknown chip name with UNKNOWN_DEVICE', () => {
    expect(() => getTarget('nrf52840')).toThrow(TfmError);
    try {
      getTarget('nrf52840');
    } catch (e) {
      expect((e as TfmError).code).toBe('UNKNOWN_DEVICE');
    }
  });

  it('keeps OTP lifecycle at the partition-manager otp start', () => {
    expect(TARGETS.nrf5340.lifecycle.provisioning).toBe(0x00ff8100);
    expect(TARGETS.nrf9160.lifecycle.provisioning).toBe(0x00ff8108);
    expect(TARGETS.nrf9160.huk.size).toBe(16);
    expect(TARGETS.nrf5340.huk.mkek.map((s) => s.index)).toEqual([2, 3]);
  });
});

describe('random sources', () => {
  it('seeded source is repeatable and differs by seed', () => {
    const a = seededRandom('x').fill(new Uint8Array(80));
    const b = seededRandom('x').fill(new Uint8Array(80));
    const c = seededRandom('y').fill(new Uint8Array(80));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });
  it('csprng fills the buffer', () => {
    const a = cryptoRandom.fill(new Uint8Array(32));
    expect(a.some((x) => x !== 0)).toBe(true);
    expect(cryptoRandom.kind).toBe('csprng');
  });
});
