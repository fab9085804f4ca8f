/**
 * The addon never makes a family-bound nrfjprog call under UNKNOWN_FAMILY, and supports 10.13 ..
 * 10.24: on a 10.24-like library it opens with AUTO_FAMILY; on a 10.18-like one (no
 * NRFJPROG_version, no AUTO) it opens with UNKNOWN, reads the family and selects it before any
 * memory call. Provisioning runs from list to verify on both.
 */
import { provision, verify } from '../../lib/provision';
import { seededRandom } from '../../lib/random';
import type { ChipName } from '../../lib/targets';
import { fakeNrfjprog, type FakeTraceEntry } from '../support/fake-vendor';
import { exportToNativeEnvironment } from '../provision/helpers';

const FAMILY_BOUND = /^NRFJPROG_(read|write|read_u32|write_u32|erase_page|erase_all|recover|sys_reset|debug_reset|pin_reset|halt|go|select_coprocessor|read_device_version)_inst$/;

/** The family each vendor instance is under when each call is made. */
function familyAtEachCall(trace: FakeTraceEntry[]): Array<{ function: string; family: number }> {
  let family = -1;
  return trace.map((entry) => {
    if (entry.function === 'NRFJPROG_open_dll_inst' || entry.function === 'NRFJPROG_select_family_inst') family = Number(entry.args[0]);
    return { function: entry.function, family };
  });
}

describe.each([
  ['full', '10.24.2', 255],
  ['v10.18', '10.13-10.18', 99],
] as const)('on the %s fake nrfjprog', (variant, version, openFamily) => {
  it('is accepted and reports its version', async () => {
    expect(await fakeNrfjprog({ variant }).binding().libraryInfo()).toMatchObject({ backend: 'nrfjprog', version });
  });

  it.each(['nrf5340', 'nrf9160'] as ChipName[])('provisions an %s from list to verify, no family-bound call under UNKNOWN', async (chip) => {
    const fake = fakeNrfjprog({ variant, probes: [{ serialNumber: 4100, chip }], trace: true });
    await exportToNativeEnvironment('FAKE_NRFJPROG_CONFIG', fake.configPath);
    const binding = fake.binding();
    const [probe] = await binding.list();
    expect(probe?.serialNumber).toBe(4100);
    const session = await binding.open(probe!.serialNumber);
    try {
      expect((await session.deviceInfo()).family).toBe(chip === 'nrf5340' ? 'NRF53' : 'NRF91');
      const result = await provision(session, { random: seededRandom(`families-${variant}-${chip}`) });
      expect(result).toMatchObject({ ok: true, outcome: 'provisioned' });
      const verified = await verify(session);
      expect(verified.ok).toBe(true);
    } finally {
      await session.close();
    }
    const calls = familyAtEachCall(fake.readTrace());
    const sessionOpen = calls.filter((c) => c.function === 'NRFJPROG_open_dll_inst').at(-1)!;
    expect(sessionOpen.family).toBe(openFamily);
    const bound = calls.filter((c) => FAMILY_BOUND.test(c.function));
    expect(bound.length).toBeGreaterThan(10);
    expect(bound.filter((c) => c.family === 99)).toEqual([]);
    if (openFamily === 99) expect(calls.map((c) => c.function)).toContain('NRFJPROG_select_family_inst');
  });
});
