/**
 * Simulator-only layout: the few addresses and values the simulated silicon needs that are not chip
 * data in lib/targets (which stays the single source for everything provisioning touches).
 */
import type { CoreSpec, Target } from '../targets';

/** Size of the FICR page dumped per core. */
export const FICR_SIZE = 0x1000;

/** Value the simulated CTRL-AP returns for IDR (0x0FC); a recognisable model value, not silicon's. */
export const SIM_CTRL_AP_IDR = 0x12880000;
/** Value the simulated AHB-AP returns for IDR (0x0FC). */
export const SIM_AHB_AP_IDR = 0x84770001;

/** Where the simulated firmware places its SEGGER RTT control block: RAM base + this offset. The host
 *  finds it the way J-Link does, by scanning RAM for the "SEGGER RTT" id. */
export const RTT_CB_OFFSET = 0x400;
export const RTT_UP_BUFFER_SIZE = 0x800;
export const RTT_DOWN_BUFFER_SIZE = 0x10;
export const RTT_ID = 'SEGGER RTT';

/** Offsets of the NVMC registers from the core's NVMC base (same on every core, device-facts 5.3). */
export function nvmcOffsets(target: Target): { ready: number; readyNext: number; config: number; eraseAll: number } {
  const base = target.application.nvmcBase;
  return {
    ready: target.nvmc.ready - base,
    readyNext: target.nvmc.readyNext - base,
    config: target.nvmc.config - base,
    eraseAll: target.nvmc.eraseAll - base,
  };
}

/** Absolute NVMC register addresses on a given core. */
export function nvmcRegisters(target: Target, core: CoreSpec): { ready: number; readyNext: number; config: number; eraseAll: number } {
  const o = nvmcOffsets(target);
  return {
    ready: core.nvmcBase + o.ready,
    readyNext: core.nvmcBase + o.readyNext,
    config: core.nvmcBase + o.config,
    eraseAll: core.nvmcBase + o.eraseAll,
  };
}
