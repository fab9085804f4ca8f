/**
 * The chip layout the J-Link backend carries in C++ (native/jlink_layout.cc) is the one in lib/targets:
 * every number is compared, for every target of each family, so a change on one side fails here.
 */
import { TARGETS } from '../../lib/targets';
import type { CoreSpec, Target } from '../../lib/targets/types';
import { nativeLayout, type NativeCoreLayout } from './native/run-sequence';

const { families: layouts, chips } = nativeLayout();

function expectedCore(core: CoreSpec): NativeCoreLayout {
  return {
    name: core.name,
    ahbAp: core.ahbAp,
    ctrlAp: core.ctrlAp,
    nvmcBase: core.nvmcBase,
    flashBase: core.flash.base,
    flashSize: core.flash.size,
    pageSize: core.flash.pageSize,
    uicrBase: core.uicrBase,
    uicrSize: core.uicrSize,
    approtect: core.approtect,
    debugLock: core.debugLock,
  };
}

describe('the J-Link backend chip layout matches lib/targets', () => {
  it('has one layout per family, and each family of lib/targets has one', () => {
    const families = [...new Set(Object.values(TARGETS).map((t: Target) => t.family))].sort();
    expect(layouts.map((l) => l.family).sort()).toEqual(families);
  });

  for (const target of Object.values(TARGETS) as Target[]) {
    it(`${target.displayName}: cores, access ports, lock check, NVMC, flash, UICR and FORCEOFF release`, () => {
      const layout = layouts.find((l) => l.family === target.family)!;
      expect(layout.application).toEqual(expectedCore(target.application));
      expect(layout.eraseProtectStatus).toBe(target.ctrlAp.eraseProtectStatus ?? 0);
      if (target.network) {
        const net = target.network;
        expect(layout.network).toEqual(expectedCore(net));
        expect(layout.release).toEqual({
          forceOff: net.forceOff,
          forceOffNonSecure: net.forceOffNonSecure,
          resetPeriphPerm: net.resetPeriphPerm,
          ficrVar1: net.erratum161.ficrVar1,
          ficrVar2: net.erratum161.ficrVar2,
          workaroundOffset: net.erratum161.workaroundOffset,
          accessTimeoutMs: net.accessTimeoutMs,
        });
      } else {
        expect(layout.network).toBeUndefined();
      }
    });

    it(`${target.displayName}: the open UICR.APPROTECT value per part`, () => {
      for (const part of target.parts) {
        expect(chips.find((c) => c.part === part)).toEqual({ part, family: target.family, approtectUnprotected: target.uicr.approtectUnprotected });
      }
    });
  }

  it('a family resets after a CTRL-AP erase-all when any of its parts needs it (the part is unknown while locked)', () => {
    for (const layout of layouts) {
      const parts = (Object.values(TARGETS) as Target[]).filter((t) => t.family === layout.family);
      expect([layout.family, layout.resetAfterEraseAll]).toEqual([layout.family, parts.some((t) => t.recover.softResetAfterEraseAll)]);
    }
  });
});
