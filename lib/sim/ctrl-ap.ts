/**
 * CTRL-AP, the access port that stays reachable when APPROTECT locks the AHB-AP (nRF5340 PS /
 * nRF9160 PS CTRL-AP chapter, device-facts 5.5): RESET, ERASEALL (+ status), APPROTECT status,
 * ERASEPROTECT status and ERASEPROTECT.DISABLE (the key firmware agreed through CTRLAPPERI). An
 * erase-all stops the CPUs, erases flash, UICR and RAM, and opens debug access until the next reset;
 * on nRF5340 the network core's CTRL-AP erases the application core first.
 */
import { ProbeError } from '../errors';
import { ERASED_WORD } from '../targets';
import type { By, PartContext } from './context';
import type { SimCore } from './core';
import { SIM_AHB_AP_IDR, SIM_CTRL_AP_IDR } from './layout';

/** IDR register offset of every access port (ADIv5). */
const AP_IDR = 0xfc;

export interface CtrlApSnapshot {
  eraseProtectDisableKey: number;
}

/** What the CTRL-AP reaches beyond itself. */
export interface CtrlApHost extends PartContext {
  coreList(): SimCore[];
  /** Erases flash and UICR of the core (a network-core erase-all erases the application core first). */
  eraseAllNow(core: SimCore, options: { ram: boolean; unlock: boolean }): void;
  /** resetFromProbe: a reset requested through the probe (CTRL-AP RESET released). */
  readonly power: { resetFromProbe(core: SimCore): void };
  advanceTo(timeUs: number): void;
}

/** Whether an erase-all of this core is blocked by UICR.ERASEPROTECT. */
export function eraseProtected(host: Pick<PartContext, 'target'> & { coreList(): SimCore[] }, core: SimCore): boolean {
  const t = host.target;
  const app = host.coreList()[0]!;
  const appProtected = app.nvm.uicrWord(t.uicr.eraseProtect) !== t.uicr.eraseProtectUnprotected;
  if (core.name === 'application') return appProtected;
  const netProtected = core.nvm.uicrWord(t.network!.uicrEraseProtect) !== ERASED_WORD;
  // A network-core erase-all also erases the application core, so either protection blocks it.
  return appProtected || netProtected;
}

export class CtrlAp {
  /** The key firmware wrote to CTRLAPPERI.ERASEPROTECT.DISABLE (0: none). */
  eraseProtectDisableKey = 0;

  constructor(private readonly host: CtrlApHost) {}

  private ctrlApCore(apIndex: number): SimCore | undefined {
    return this.host.coreList().find((c) => c.spec.ctrlAp === apIndex);
  }

  /** ERASEALL through the CTRL-AP; refused (and thrown, for the probe's eraseAll/recover) under ERASEPROTECT. */
  eraseAll(core: SimCore, by: By, throwIfProtected: boolean): boolean {
    if (eraseProtected(this.host, core)) {
      this.host.violate('ERASE_PROTECTED', core.name, core.spec.ctrlAp, by, `CTRL-AP ${core.spec.ctrlAp} ERASEALL refused: ERASEPROTECT is set.`);
      if (throwIfProtected) {
        throw new ProbeError('ERASE_PROTECTED', 'ERASEPROTECT is set: CTRL-AP ERASEALL does nothing (only the firmware-agreed ERASEPROTECT.DISABLE key erases the device).');
      }
      return false;
    }
    this.eraseAllAndUnlock(core);
    if (throwIfProtected) this.host.advanceTo(core.eraseAllBusyUntil);
    return true;
  }

  private eraseAllAndUnlock(core: SimCore): void {
    // CTRL-AP ERASEALL stops the CPU and erases flash, UICR and RAM.
    for (const c of core.name === 'network' ? this.host.coreList() : [core]) {
      c.firmware = undefined;
      c.running = false;
      c.bootPending = false;
    }
    this.host.eraseAllNow(core, { ram: true, unlock: true });
    core.eraseAllBusyUntil = this.host.clock.nowUs + this.host.target.timing.eraseAllUs;
  }

  read(apIndex: number, register: number): number {
    const core = this.ctrlApCore(apIndex);
    if (!core) {
      const ahb = this.host.coreList().find((c) => c.spec.ahbAp === apIndex);
      if (!ahb) throw new ProbeError('INVALID_PARAMETER', `${this.host.target.displayName} has no access port ${apIndex}.`);
      return register === AP_IDR ? SIM_AHB_AP_IDR : 0;
    }
    const r = this.host.target.ctrlAp;
    switch (register) {
      case r.reset:
        return core.ctrlApReset;
      case r.eraseAll:
        return 0;
      case r.eraseAllStatus:
        return this.host.clock.nowUs < core.eraseAllBusyUntil ? 1 : 0;
      case r.approtectStatus:
        return core.debugOpen ? 1 : 0;
      case AP_IDR:
        return SIM_CTRL_AP_IDR;
      default:
        if (r.eraseProtectStatus !== undefined && register === r.eraseProtectStatus) return eraseProtected(this.host, core) ? 0 : 1;
        return 0;
    }
  }

  write(apIndex: number, register: number, value: number): void {
    const core = this.ctrlApCore(apIndex);
    if (!core) {
      if (!this.host.coreList().some((c) => c.spec.ahbAp === apIndex)) throw new ProbeError('INVALID_PARAMETER', `${this.host.target.displayName} has no access port ${apIndex}.`);
      return;
    }
    const r = this.host.target.ctrlAp;
    if (register === r.reset) {
      const was = core.ctrlApReset;
      core.ctrlApReset = value & 1;
      if (was === 1 && core.ctrlApReset === 0) this.host.power.resetFromProbe(core);
      return;
    }
    if (register === r.eraseAll) {
      if (value & 1) this.eraseAll(core, 'probe', false);
      return;
    }
    if (r.eraseProtectDisable !== undefined && register === r.eraseProtectDisable) {
      if (value !== 0 && value >>> 0 === this.eraseProtectDisableKey) this.eraseAllAndUnlock(core);
      return;
    }
    // APPROTECT.DISABLE / SECUREAPPROTECT.DISABLE keys and the mailbox are not modelled: ignored.
  }

  /** CPU side: CTRLAPPERI.ERASEPROTECT.DISABLE (write-only, reads 0), or undefined/false for other addresses. */
  readRegister(address: number): number | undefined {
    return address === this.host.target.ctrlApPeri?.eraseProtectDisable ? 0 : undefined;
  }
  writeRegister(address: number, value: number): boolean {
    if (address !== this.host.target.ctrlApPeri?.eraseProtectDisable) return false;
    this.eraseProtectDisableKey = value;
    return true;
  }

  snapshot(): CtrlApSnapshot {
    return { eraseProtectDisableKey: this.eraseProtectDisableKey };
  }
  restore(s: CtrlApSnapshot): void {
    this.eraseProtectDisableKey = s.eraseProtectDisableKey;
  }
}
