/**
 * The chip facts the C fakes are built on (test/fixtures/nrf-model, printed by the
 * nrf_model_layout program scripts/build-fakes.js builds) are the ones lib/targets holds: a chip
 * fact changed in one place and not the other fails here.
 */
import { execFileSync } from 'node:child_process';
import { CHIP_NAMES, TARGETS, type CoreSpec } from '../../lib/targets';
import { variantFromWord } from '../../lib/device/ficr';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildModelLayout } = require('../../scripts/build-fakes.js') as { buildModelLayout(o?: { quiet?: boolean }): string };

interface ModelCore {
  flash: { base: number; size: number; pageSize: number };
  uicrBase: number;
  uicrSize: number;
  ficrBase: number;
  ram: { base: number; size: number };
  nvmcBase: number;
  hasKmu: boolean;
  ahbAp: number;
  ctrlAp: number;
}
interface ModelChip {
  nrfjprogFamily: number;
  approtectOpen: number;
  forceOffSecure: number;
  forceOffNonSecure: number;
  infoPart: number;
  infoVariant: number;
  sipPartNo: number;
  sipVariant: number;
  application: ModelCore;
  network?: ModelCore;
}

const model = JSON.parse(execFileSync(buildModelLayout({ quiet: true }), { encoding: 'utf8' })) as Record<string, ModelChip>;

/** device_family_t values (DllCommonDefinitions.h 10.19.0): NRF53_FAMILY 53, NRF91_FAMILY 91. */
const NRFJPROG_FAMILY = { NRF53: 53, NRF91: 91 } as const;

const coreFacts = (core: CoreSpec) => ({
  flash: core.flash,
  uicrBase: core.uicrBase,
  uicrSize: core.uicrSize,
  ficrBase: core.ficrBase,
  ram: core.ram,
  nvmcBase: core.nvmcBase,
  ahbAp: core.ahbAp,
  ctrlAp: core.ctrlAp,
});

it('the model knows exactly the chips lib/targets has', () => {
  expect(Object.keys(model).sort()).toEqual([...CHIP_NAMES].sort());
});

describe.each(CHIP_NAMES)('%s', (chip) => {
  const target = TARGETS[chip];
  const c = model[chip]!;

  it('has the same memory map and access ports per core', () => {
    const { hasKmu: appKmu, ...application } = c.application;
    expect(application).toEqual(coreFacts(target.application));
    expect(appKmu).toBe(true); // the KMU shares the secure NVMC's base on every chip here
    if (target.network) {
      const { hasKmu: netKmu, ...network } = c.network!;
      expect(network).toEqual(coreFacts(target.network));
      expect(netKmu).toBe(false);
    } else {
      expect(c.network).toBeUndefined();
    }
  });

  it('holds the variant word that decodes, in the chip\'s layout, to its ordering code', () => {
    const word = target.ficr.variant === target.application.ficrBase + 0x148 ? c.sipVariant : c.infoVariant;
    expect(variantFromWord(target.ficr.variantLayout, word)).toBe(target.ficr.typicalVariant);
  });

  it('has the same family, part numbers, APPROTECT open value and FORCEOFF register', () => {
    expect(c.nrfjprogFamily).toBe(NRFJPROG_FAMILY[target.family as keyof typeof NRFJPROG_FAMILY]);
    expect(c.approtectOpen).toBe(target.uicr.approtectUnprotected);
    if (target.ficr.part !== undefined) expect(c.infoPart).toBe(target.parts[0]);
    else expect(c.infoPart).toBe(0);
    if (target.ficr.sipPartNo !== undefined) expect(c.sipPartNo).toBe(target.parts[0]);
    else expect(c.sipPartNo).toBe(0);
    if (target.network) {
      expect(c.forceOffSecure).toBe(target.network.forceOff);
      // The non-secure alias of a split-security peripheral is its secure address with bit 28 clear.
      expect(c.forceOffNonSecure).toBe(target.network.forceOff & ~0x10000000);
    } else {
      expect(c.forceOffSecure).toBe(0);
    }
  });
});
