/**
 * A simulated device's starting point, as if written at the factory: FICR (device ID, part,
 * variant) and the SimDeviceState words in UICR (lifecycle, implementation ID, KMU slots,
 * APPROTECT, ERASEPROTECT), each programmed once with AND semantics as a programmer would.
 */
import { TfmError } from '../errors';
import { ERASED_WORD, kmuDestAddress, kmuPermAddress, kmuValueAddress, type Target } from '../targets';
import { bytesFrom, readU32LE } from '../bytes';
import type { SimCore } from './core';
import { lifecycleWrites, parseLifecycle } from './lifecycle';
import type { SimDeviceState } from './types';

/** FICR of one core: DEVICEID, the part number and the variant (device-facts 5.4). */
export function initFicr(t: Target, core: SimCore, id: Uint8Array): void {
  const base = core.spec.ficrBase;
  const rel = (address: number): number => base + (address - t.application.ficrBase);
  core.ficr.set(rel(t.ficr.deviceId0), readU32LE(id, 0));
  core.ficr.set(rel(t.ficr.deviceId1), readU32LE(id, 4));
  const part = t.parts[0]!;
  if (t.ficr.part !== undefined) core.ficr.set(rel(t.ficr.part), part);
  if (t.ficr.sipPartNo !== undefined) core.ficr.set(rel(t.ficr.sipPartNo), part);
  core.ficr.set(rel(t.ficr.variant), variantWord(t));
}

/** The word a 32-bit read of the chip's variant returns, from its typical ordering code and layout. */
function variantWord(t: Target): number {
  const c = Buffer.from(t.ficr.typicalVariant, 'latin1');
  // uint8_t[4] (nRF91 SIPINFO): byte 0 at the lowest address; uint32_t (nRF5340 INFO): MSB first.
  return t.ficr.variantLayout === 'uint8x4-memory-order' ? c.readUInt32LE(0) : c.readUInt32BE(0);
}

/** Writes the state's UICR words; returns what lives outside NVM (the CTRL-AP erase key). */
export function applyFactoryState(t: Target, cores: { application: SimCore; network?: SimCore }, state: SimDeviceState): { eraseProtectDisableKey: number } {
  const app = cores.application.nvm;
  const lifecycle = parseLifecycle(state.lifecycle ?? 'ASSEMBLY');
  const base = t.lifecycle.provisioning;
  if (state.lifecycleWords) {
    const w = state.lifecycleWords;
    const half = (v: number | undefined, name: string): number => {
      if (v === undefined) return 0xffff;
      if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new TfmError('INVALID_PARAMETER', `lifecycleWords.${name} must be a 16-bit value.`);
      return v;
    };
    const w0 = ((half(w.secure, 'secure') << 16) | half(w.provisioning, 'provisioning')) >>> 0;
    const w1 = ((half(w.decommissioned, 'decommissioned') << 16) | half(w.reserved, 'reserved')) >>> 0;
    if (w0 !== ERASED_WORD) app.factoryWriteUicr(base, w0);
    if (w1 !== ERASED_WORD) app.factoryWriteUicr(base + 4, w1);
  } else {
    // The writes a correct sequence would have made (SECURED is the second write of word 0).
    for (const [address, value] of lifecycleWrites(t.lifecycle, lifecycle)) app.factoryWriteUicr(address, value);
  }
  if (state.implementationId !== undefined) {
    const id = bytesFrom(state.implementationId, 32, 'Implementation ID');
    for (let i = 0; i < 32; i += 4) app.factoryWriteUicr(t.implementationId.address + i, readU32LE(id, i));
  }
  for (const slot of state.kmuSlots ?? []) {
    if (!Number.isInteger(slot.index) || slot.index < 0 || slot.index >= t.kmu.slotCount) {
      throw new TfmError('INVALID_PARAMETER', `KMU slot index ${String(slot.index)} is out of range 0..${t.kmu.slotCount - 1}.`);
    }
    if (slot.dest !== undefined) app.factoryWriteUicr(kmuDestAddress(t, slot.index), slot.dest >>> 0);
    if (slot.value !== undefined) {
      const v = bytesFrom(slot.value, 16, `KMU slot ${slot.index} value`);
      for (let o = 0; o < 4; o++) app.factoryWriteUicr(kmuValueAddress(t, slot.index) + 4 * o, readU32LE(v, 4 * o));
      v.fill(0);
    }
    if (slot.perm !== undefined) app.factoryWriteUicr(kmuPermAddress(t, slot.index), slot.perm >>> 0);
  }
  const unprotected = t.uicr.approtectUnprotected;
  // A device "fresh from the factory" here is a dev kit after nrfjprog --recover: debug open.
  app.factoryWriteUicr(t.uicr.approtect, state.approtect ? t.uicr.approtectProtected : unprotected);
  app.factoryWriteUicr(t.uicr.secureApprotect, state.approtect ? t.uicr.approtectProtected : unprotected);
  if (state.eraseProtect) app.factoryWriteUicr(t.uicr.eraseProtect, 0);
  const net = cores.network?.nvm;
  if (net) {
    net.factoryWriteUicr(net.spec.approtect, state.networkApprotect ? t.uicr.approtectProtected : unprotected);
    if (state.eraseProtect) net.factoryWriteUicr(t.network!.uicrEraseProtect, 0);
  } else if (state.networkApprotect || state.networkForcedOff) {
    throw new TfmError('INVALID_PARAMETER', `${t.displayName} has no network core.`);
  }
  return { eraseProtectDisableKey: (state.eraseProtectDisableKey ?? 0) >>> 0 };
}
