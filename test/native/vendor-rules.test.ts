/**
 * The fake nrfjprog library keeps the rules Nordic documents, below the addon (a C program calls it
 * directly): which functions an UNKNOWN_FAMILY instance offers (release notes 9.4.0), that
 * read_device_family is for UNKNOWN and AUTO instances only (9.4.0, pynrfjprog LowLevel.py), that
 * a wrong known family fails with WRONG_FAMILY_FOR_DEVICE, and what a 10.13 .. 10.18 library
 * lacks (NRFJPROG_version and AUTO_FAMILY, 10.19.0). docs/vendor-behaviour.md lists the sources.
 */
import { execFileSync } from 'node:child_process';
import { fakeNrfjprog } from '../support/fake-vendor';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildRulesProgram } = require('../../scripts/build-fakes.js') as { buildRulesProgram(o?: { quiet?: boolean }): string };

const INVALID_OPERATION = -2;
const INVALID_PARAMETER = -3;
const WRONG_FAMILY_FOR_DEVICE = -5;

function rules(variant: 'full' | 'v10.18', chip: 'nrf5340' | 'nrf9160'): Record<string, { code?: number; value?: number }> {
  const fake = fakeNrfjprog({ variant, probes: [{ serialNumber: 61, chip }] });
  const out = execFileSync(buildRulesProgram({ quiet: true }), [fake.libraryPath, '61'], {
    encoding: 'utf8',
    env: { ...process.env, FAKE_NRFJPROG_CONFIG: fake.configPath },
  });
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { rule: string; code?: number; value?: number })
      .map(({ rule, ...rest }) => [rule, rest]),
  );
}

describe.each(['full', 'v10.18'] as const)('fake nrfjprog %s', (variant) => {
  it.each(['nrf5340', 'nrf9160'] as const)('under UNKNOWN_FAMILY offers connection, AP access and family detection only (%s)', (chip) => {
    const r = rules(variant, chip);
    expect(r['open UNKNOWN']!.code).toBe(0);
    expect(r['UNKNOWN connect']!.code).toBe(0);
    expect(r['UNKNOWN read_access_port_register']!.code).toBe(0);
    expect(r['UNKNOWN read_device_family']).toEqual({ code: 0, value: chip === 'nrf5340' ? 53 : 91 });
    expect(r['UNKNOWN read_u32']!.code).toBe(INVALID_OPERATION);
    expect(r['UNKNOWN read_device_version']!.code).toBe(INVALID_OPERATION);
    expect(r['UNKNOWN select_coprocessor']!.code).toBe(INVALID_OPERATION);
  });

  it('works after select_family with the detected family, and then no longer offers read_device_family', () => {
    const r = rules(variant, 'nrf5340');
    expect(r['select_family detected']!.code).toBe(0);
    expect(r['selected read_u32']!.code).toBe(0);
    expect(r['selected read_device_family']!.code).toBe(INVALID_OPERATION);
  });

  it('fails a device call with WRONG_FAMILY_FOR_DEVICE when opened with another known family', () => {
    expect(rules(variant, 'nrf5340')['other family read_u32']!.code).toBe(WRONG_FAMILY_FOR_DEVICE);
    expect(rules(variant, 'nrf9160')['other family read_u32']!.code).toBe(WRONG_FAMILY_FOR_DEVICE);
  });
});

it('the 10.24-like fake exports NRFJPROG_version and accepts AUTO_FAMILY, which detects the family', () => {
  const r = rules('full', 'nrf9160');
  expect(r['exports NRFJPROG_version']!.value).toBe(1);
  expect(r['open AUTO']!.code).toBe(0);
  expect(r['AUTO read_u32']!.code).toBe(0);
  expect(r['AUTO read_device_family']!.code).toBe(0);
});

it('the 10.18-like fake has no NRFJPROG_version and refuses AUTO_FAMILY as an unsupported family', () => {
  const r = rules('v10.18', 'nrf5340');
  expect(r['exports NRFJPROG_version']!.value).toBe(0);
  expect(r['open AUTO']!.code).toBe(INVALID_PARAMETER);
});

it('a core whose UICR.APPROTECT holds Protected (0) at reset answers memory calls with NOT_AVAILABLE_BECAUSE_PROTECTION (-90)', async () => {
  const fake = fakeNrfjprog({ probes: [{ serialNumber: 62, memory: [{ address: 0x00ff8000, value: 0 }] }] });
  const session = await fake.binding().open(62);
  try {
    await expect(session.readU32(0x00ff0204)).rejects.toMatchObject({ code: 'DEVICE_PROTECTED', vendorCode: -90 });
    expect(await session.readAccessPort(0, 0xfc)).toBe(0x84770001); // the debug port still answers
  } finally {
    await session.close();
  }
});
