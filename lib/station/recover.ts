/**
 * Recover: CTRL-AP ERASEALL per core, then a report of the debug-port state the device is left in.
 *
 * Order on nRF5340: network core first. An ERASEALL through the network core's CTRL-AP erases the
 * application core too (nRF5340 PS; device-facts 5.5), so doing the network core first and the
 * application core second leaves both erased and both debug ports reachable; the other order
 * would erase the application core twice and still need the network step.
 *
 * APPROTECT: a CTRL-AP erase leaves UICR.APPROTECT erased (0xFFFFFFFF). On nRF5340 and
 * nRF9161/9151 that is not the open value, so the debug port locks again at the next reset unless
 * firmware opens it. nrfjprog's recover, however, writes the open value (0x50FA50FA) unless told
 * not to (vendor-apis 1.5). We never write it ourselves; we read it back and say which state the
 * device is in, and flag the open value as something the recover did, not the operator.
 */
import { identifyChip } from '../device/ficr';
import { hex32 } from '../device/hex';
import { readNetworkCore } from '../device/network-core';
import { readApplicationUicr } from '../device/uicr';
import { TfmError, asTfmError } from '../errors';
import type { ProbeSession } from '../probe/types';
import type { ChipName, Target } from '../targets';

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
  /** True when the open value is there although an erase leaves this chip's UICR erased: the
   *  recover implementation wrote it (nrfjprog's default). */
  openedByRecover: boolean;
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

/** The cores to erase, in the order the hardware needs. */
export function recoverOrder(family: 'NRF53' | 'NRF91' | 'UNKNOWN', choice: RecoverCoreChoice): RecoverCore[] {
  if (family === 'NRF91') {
    if (choice === 'network') throw new TfmError('USAGE', 'nRF91 devices have no network core; use --core application (or all).');
    return ['application'];
  }
  if (family !== 'NRF53') throw new TfmError('UNKNOWN_DEVICE', 'The probe did not identify an nRF53 or nRF91 device; not recovering an unknown chip.');
  if (choice === 'all') return ['network', 'application'];
  return [choice];
}

function classify(target: Target, core: RecoverCore, value: number): CoreProtectionReport {
  const open = target.uicr.approtectUnprotected;
  const erasedIsOpen = open === 0xffffffff; // nRF9160
  if (value === open) {
    return {
      core,
      approtect: value,
      state: 'open',
      openedByRecover: !erasedIsOpen,
      description: erasedIsOpen
        ? `UICR.APPROTECT ${hex32(value)} (erased, which is open on ${target.displayName}): the debug port stays open after reset until firmware or provisioning locks it.`
        : `UICR.APPROTECT ${hex32(value)} (the open value, written by the recover): the debug port stays open after every reset until it is locked again.`,
    };
  }
  if (value === target.uicr.approtectProtected) {
    return { core, approtect: value, state: 'protected', openedByRecover: false, description: `UICR.APPROTECT ${hex32(value)}: protected; the debug port locks at the next reset.` };
  }
  return {
    core,
    approtect: value,
    state: 'lockedAtReset',
    openedByRecover: false,
    description: `UICR.APPROTECT ${hex32(value)} (erased): the debug port is open now and locks again at the next reset unless firmware opens it.`,
  };
}

/** Erases the chosen cores through CTRL-AP and reports the protection state left behind. */
export async function recoverDevice(session: ProbeSession, choice: RecoverCoreChoice): Promise<RecoverReport> {
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
  const protection: CoreProtectionReport[] = [];
  try {
    protection.push(classify(target, 'application', (await readApplicationUicr(session, target)).protection.approtect));
  } catch (error) {
    protection.push({ core: 'application', state: 'unknown', openedByRecover: false, description: `UICR.APPROTECT could not be read: ${asTfmError(error).message}` });
  }
  if (target.network !== undefined) {
    try {
      const held = ((await session.readU32(target.network.forceOff)) & 1) === 1;
      const net = held ? undefined : await readNetworkCore(session, target);
      if (net === undefined) {
        protection.push({
          core: 'network',
          state: 'notRead',
          openedByRecover: false,
          description:
            'held off (RESET.NETWORK.FORCEOFF), so not read: its UICR.APPROTECT was erased and it locks when it starts, unless the recover wrote the open value there too (see the application core).',
        });
      } else if (net.approtect !== undefined) protection.push(classify(target, 'network', net.approtect));
      else protection.push({ core: 'network', state: 'protected', openedByRecover: false, description: 'The network core debug port does not answer: it is protected.' });
    } catch (error) {
      protection.push({ core: 'network', state: 'unknown', openedByRecover: false, description: `Network-core UICR.APPROTECT could not be read: ${asTfmError(error).message}` });
    }
  }
  const warnings: string[] = [];
  for (const p of protection) {
    if (p.openedByRecover) {
      warnings.push(
        `${p.core} core: the recover left UICR.APPROTECT at the open value, so this device stays debuggable after reset. ` +
          'Provisioning locks the network core; TF-M built with NRF_APPROTECT_LOCK locks the application core at first boot. ' +
          'With the nrfjprog backend, configure recover not to write it ([approtect] write_uicr_approtect = false).',
      );
    }
  }
  return { chip: identity.chip, erased, protection, warnings, durationMs: Date.now() - start };
}
