/**
 * The chip layout the J-Link backend carries in C++ (native/jlink_layout.cc) is the one in lib/targets:
 * every number is compared, for every target of each family, so a change on one side fails here.
 */
import { TARGETS } from '../../lib/targets';
import type { CoreSpec, Target } from '../../lib/targets/types';
import { nativeLayout, type NativeCoreLayout } from './native/run-sequence';

const layouts = nativeLayout();

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
  };
}

describe('the J-Link backend chip layout matches lib/targets', () => {
  it('has one layout per family, and each family of lib/targets has one', () => {
    const families = [...new Set(Object.values(TARGETS).map((t: Target) => t.family))].sort();
    expect(layouts.map((l) => l.family).sort()).toEqual(families);
  });

  for (const target of Object.values(TARGETS) as Target[]) {
    it(`${target.displayName}: cores, access ports, NVMC, flash, UICR and FORCEOFF`, () => {
      const layout = layouts.find((l) => l.family === target.family)!;
      expect(layout.application).toEqual(expectedCore(target.application));
      if (target.network) {
        expect(layout.network).toEqual(expectedCore(target.network));
        expect(layout.forceOff).toBe(target.network.forceOff);
      } else {
        expect(layout.network).toBeUndefined();
      }
    });
  }
});
