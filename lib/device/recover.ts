/**
 * Recover: CTRL-AP ERASEALL per core, then a report of the debug-port state the device is left in.
 *
 * Order: the target's recoveryOrder (lib/targets). On nRF5340 network core first. An ERASEALL through the network core's CTRL-AP erases the
 * application core too (nRF5340 PS; device-facts 5.5), so doing the network core first and the
 * application core second leaves both erased and both debug ports reachable; the other order
 * would erase the application core twice and still need the network step.
 *
 * APPROTECT: a CTRL-AP erase leaves UICR.APPROTECT erased (0xFFFFFFFF). On nRF5340 and
 * nRF9161/9151 that is not the open value, so the debug port locks again at the next reset unless
 * firmware opens it. nrfjprog's recover, however, writes the open value (0x50FA50FA) unless told
 * not to (vendor-apis 1.5). We never write the open value ourselves. When a recover left it there,
 * we write Protected (0) over it (clearing bits needs no erase): the port stays open until the next
 * reset, exactly as after a plain CTRL-AP erase, instead of open for good. `leaveOpen` keeps the
 * open value for an operator who wants it. Either way the state left is read back and reported.
 */
import { identifyChip } from './ficr';
import { hex32 } from '../bytes';
import { lockNetworkCore, readNetworkCore } from './network-core';
import { readApplicationUicr } from './uicr';
import { TfmError, asTfmError } from '../errors';
import type { ProbeSession } from '../probe/types';
import { TARGETS, type ChipName, type Target } from '../targets';

export type RecoverCoreChoice = 'application' | 'network' | 'all';
export type RecoverCore = 'application' | 'network';

/**
 * open: UICR holds the open value; the debug port stays open after every reset.
 * lockedAtReset: UICR erased, not the open value; debug access ends at the next reset (unless firmware opens it).
 * protected: UICR.APPROTECT = 0.
 * notRead: nRF5340 network core held off (FORCEOFF) after the erase: not started just to read it,
 *   because starting it with an erased UICR.APPROTECT would lock its debug port at once.
 * unknown: could not be read.
 */
export type ApprotectState = 'open' | 'lockedAtReset' | 'protected' | 'notRead' | 'unknown';

export interface CoreProtectionReport {
  core: RecoverCore;
  approtect?: number;
  state: ApprotectState;
  /** The recover implementation wrote the open value (nrfjprog's default), which an erase alone
   *  never leaves on this chip. */
  openedByRecover: boolean;
  /** tfm-provision then wrote Protected (0) so the device is not left open by accident. */
  closedByTool: boolean;
  description: string;
}

export interface RecoverReport {
  chip: ChipName;
  /** Cores erased, in the order done. */
  erased: RecoverCore[];
  protection: CoreProtectionReport[];
  warnings: string[];
  durationMs: number;
}

export const RECOVER_WARNING =
  'recover erases all flash and UICR: the PSA lifecycle, the hardware unique keys, the identity key and the implementation ID are destroyed. A provisioned device must be provisioned again.';

/**
 * The cores to erase, in the order the hardware needs (the target's recoveryOrder). Chosen by the
 * probe's family, not FICR: a protected device's FICR cannot be read before the erase. The parts
 * of one family share their recovery order.
 */
export function recoverOrder(family: 'NRF53' | 'NRF91' | 'UNKNOWN', choice: RecoverCoreChoice): RecoverCore[] {
  const target = Object.values(TARGETS).find((t) => t.family === family);
  if (target === undefined) throw new TfmError('UNKNOWN_DEVICE', 'The probe did not identify an nRF53 or nRF91 device; not recovering an unknown chip.');
  if (choice === 'all') return [...target.recoveryOrder];
  if (!target.recoveryOrder.includes(choice)) {
    throw new TfmError('USAGE', `${family.replace(/^NRF/, 'nRF')} devices have no ${choice} core; use --core ${target.recoveryOrder.join(' or ')} (or all).`);
  }
  return [choice];
}

const ERASED = 0xffffffff;

/** The state one core is left in, in words. */
function report(target: Target, core: RecoverCore, value: number, openedByRecover: boolean, leftOpen: boolean): CoreProtectionReport {
  const open = target.uicr.approtectUnprotected;
  const base = { core, approtect: value, openedByRecover, closedByTool: openedByRecover && !leftOpen && value === target.uicr.approtectProtected };
  if (value === open) {
    return {
      ...base,
      state: 'open',
      description:
        open === ERASED
          ? `UICR.APPROTECT ${hex32(value)} (erased, which is open on ${target.displayName}): the debug port stays open after reset until firmware or provisioning locks it.`
          : `UICR.APPROTECT ${hex32(value)} (the open value, written by the recover and kept with --leave-open): the debug port stays open after every reset until it is locked.`,
    };
  }
  if (value === target.uicr.approtectProtected) {
    return {
      ...base,
      state: 'protected',
      description: base.closedByTool
        ? `UICR.APPROTECT ${hex32(value)}: the recover wrote the open value, so tfm-provision wrote Protected; the debug port is open now and locks at the next reset (--leave-open keeps it open).`
        : `UICR.APPROTECT ${hex32(value)}: protected; the debug port locks at the next reset.`,
    };
  }
  return {
    ...base,
    state: 'lockedAtReset',
    description: `UICR.APPROTECT ${hex32(value)} (erased): the debug port is open now and locks again at the next reset unless firmware opens it.`,
  };
}

export interface RecoverOptions {
  /** Keep the open APPROTECT value a recover implementation may write (nrfjprog's default). */
  leaveOpen?: boolean;
}

/** Erases the chosen cores through CTRL-AP and reports the protection state left behind. */
export async function recoverDevice(session: ProbeSession, choice: RecoverCoreChoice, options: RecoverOptions = {}): Promise<RecoverReport> {
  const start = Date.now();
  const info = await session.deviceInfo();
  const order = recoverOrder(info.family, choice);
  const erased: RecoverCore[] = [];
  try {
    for (const core of order) {
      await session.selectCore(core);
      erased.push(core); // from here on the core may be (partly) erased, even if recover() throws
      await session.recover();
    }
    if (order.includes('network')) await session.selectCore('application');
  } catch (error) {
    const e = asTfmError(error);
    // ERASE_PROTECTED: the CTRL-AP refused the ERASEALL, so the core it was asked to erase is
    // untouched; only the cores before it count as written.
    const touched = e.code === 'ERASE_PROTECTED' ? erased.length - 1 : erased.length;
    if (touched > 0) e.afterWrite = true;
    throw e;
  }

  const identity = await identifyChip(session);
  const target = identity.target;
  const warnings: string[] = [];
  const protection: CoreProtectionReport[] = [];

  // Application core: APPROTECT and SECUREAPPROTECT (one read of the UICR head).
  let applicationOpened = false;
  try {
    let uicr = (await readApplicationUicr(session, target)).protection;
    const accidental = (value: number): boolean => value === target.uicr.approtectUnprotected && target.uicr.approtectUnprotected !== ERASED;
    applicationOpened = accidental(uicr.approtect) || accidental(uicr.secureApprotect);
    if (applicationOpened && options.leaveOpen !== true) {
      // Clearing bits needs no erase: Protected (0) leaves the port open until the next reset,
      // like the erased value would, instead of open for good.
      for (const address of [target.uicr.approtect, target.uicr.secureApprotect]) {
        if ((await session.readU32(address)) === target.uicr.approtectUnprotected) await session.writeU32(address, target.uicr.approtectProtected, { nvmc: true });
      }
      uicr = (await readApplicationUicr(session, target)).protection;
    }
    protection.push(report(target, 'application', uicr.approtect, applicationOpened, options.leaveOpen === true));
  } catch (error) {
    protection.push({ core: 'application', state: 'unknown', openedByRecover: false, closedByTool: false, description: `UICR.APPROTECT could not be read: ${asTfmError(error).message}` });
  }

  // The network core is looked at only when it was erased here: otherwise its state is not this
  // command's doing (a dev kit's network core may be open on purpose).
  if (target.network !== undefined && erased.includes('network')) {
    try {
      // Releasing FORCEOFF starts the network core; with an erased APPROTECT that locks its port at
      // once. So it is started only when the recover evidently wrote the open value (as on the
      // application core), where starting it is harmless and the value must be checked.
      const held = ((await session.readU32(target.network.forceOff)) & 1) === 1;
      if (held && !applicationOpened) {
        protection.push({
          core: 'network',
          state: 'notRead',
          openedByRecover: false,
          closedByTool: false,
          description:
            'held off (RESET.NETWORK.FORCEOFF), so not read: the recover erased its UICR.APPROTECT (the application core shows no open value written), so it locks when it starts.',
        });
      } else {
        let net = await readNetworkCore(session, target);
        const opened = net.approtect === target.uicr.approtectUnprotected;
        if (opened && options.leaveOpen !== true) {
          await lockNetworkCore(session, target);
          net = await readNetworkCore(session, target);
        }
        if (net.approtect !== undefined) protection.push(report(target, 'network', net.approtect, opened, options.leaveOpen === true));
        else protection.push({ core: 'network', state: 'protected', openedByRecover: opened, closedByTool: false, description: 'The network core debug port does not answer: it is protected.' });
      }
    } catch (error) {
      protection.push({ core: 'network', state: 'unknown', openedByRecover: false, closedByTool: false, description: `Network-core UICR.APPROTECT could not be read: ${asTfmError(error).message}` });
    }
  }
  for (const p of protection) {
    if (p.openedByRecover && p.state === 'open') {
      warnings.push(
        `${p.core} core: the recover wrote the open value to UICR.APPROTECT and it was left so (--leave-open): this device stays debuggable after every reset. ` +
          'Provisioning locks the network core; TF-M built with NRF_APPROTECT_LOCK locks the application core at its first boot.',
      );
    }
  }
  return { chip: identity.chip, erased, protection, warnings, durationMs: Date.now() - start };
}
