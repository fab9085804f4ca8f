/**
 * The nRF5340 network core's debug lock: UICR.APPROTECT = 0 on the network core, written through the
 * network core's own NVMC over AP1 (the application core cannot reach net-core peripherals). AP1
 * answers only once RESET.NETWORK.FORCEOFF is released, which is done from the application core.
 *
 * Releasing FORCEOFF also lets the network core boot whatever is in its flash: a network-core
 * provisioning image there would lock the core's debug port by itself (and a read-only run would
 * have changed the device). So a release is always followed, in the debugger's next transaction,
 * by a halt of the network core, and a run that does not lock the core puts FORCEOFF back
 * (holdNetworkCore) so the device is left as it was found.
 *
 * The release follows probe-rs (vendor/nordicsemi/sequences/nrf.rs set_network_core_running,
 * apply_erratum_161_release, wait_for_core_accessible): FORCEOFF is written at the alias the SPU
 * gives RESET (firmware may have made it non-secure; the other alias bus-faults), with Nordic's
 * erratum 161 sequence on affected silicon, and a core that was just released counts as locked only
 * when its AHB-AP has not come up (CSW.DeviceEn) within target.network.accessTimeoutMs: it powers
 * up first.
 */
import { ProbeError, TfmError } from '../errors';
import type { ProbeOperation, ProbeSession } from '../probe/types';
import type { Target } from '../targets';
import { hex32 } from '../bytes';
import { erratum161From } from './ficr';
import { runScopedOperations } from './batch';
import type { PlannedDeviceWrite } from './types';

export interface NetworkCoreReading {
  /** FORCEOFF held the network core off when we looked (then we released it). */
  wasForcedOff: boolean;
  /** AP1 answered. False when the network core's debug port is protected. */
  accessible: boolean;
  /** UICR.APPROTECT of the network core, when readable. */
  approtect?: number;
  /** Debug access is or will be denied after the next reset: APPROTECT = 0, or AP1 already locked. */
  locked: boolean;
}

export const NETWORK_APPROTECT_PROTECTED = 0x00000000;

function network(target: Target): NonNullable<Target['network']> {
  if (!target.network) throw new TfmError('INVALID_OPERATION', `${target.displayName} has no network core.`);
  return target.network;
}

type NetworkSpec = NonNullable<Target['network']>;

const SPU_PERM_SECATTR = 1 << 4;
const SPU_PERM_PRESENT = 1 << 31;

/**
 * FORCEOFF at the alias RESET answers at: SPU PERIPHID[5].PERM.SECATTR set = secure, clear =
 * non-secure. A PERM word without PRESENT does not describe RESET (a model without an SPU): the
 * reset attribution, secure, holds (PS SPU: at reset every user-selectable peripheral is secure).
 */
async function forceOffAddress(session: ProbeSession, net: NetworkSpec): Promise<number> {
  const perm = await session.readU32(net.resetPeriphPerm);
  const secure = (perm & SPU_PERM_PRESENT) === 0 || (perm & SPU_PERM_SECATTR) !== 0;
  return secure ? net.forceOff : net.forceOffNonSecure;
}

/** Erratum 161 from the FICR words (erratum161From), read here unless identification already did. */
async function hasErratum161(session: ProbeSession, net: NetworkSpec, known?: boolean): Promise<boolean> {
  if (known !== undefined) return known;
  const var1 = await session.readU32(net.erratum161.ficrVar1);
  const var2 = await session.readU32(net.erratum161.ficrVar2);
  return erratum161From(var1, var2);
}

/** What the caller already knows about the chip, so the release reads nothing twice. */
export interface NetworkCoreOptions {
  /** ChipIdentity.erratum161 (FICR, read once by identifyChip). */
  erratum161?: boolean;
}

/** Reads FORCEOFF and releases it only when it holds the core off; returns whether it did. */
async function releaseForceOff(session: ProbeSession, target: Target, options: NetworkCoreOptions = {}): Promise<boolean> {
  const net = network(target);
  const forceOff = await forceOffAddress(session, net);
  const held = ((await session.readU32(forceOff)) & 1) === 1;
  if (!held) return false;
  if (!(await hasErratum161(session, net, options.erratum161))) {
    await session.writeU32(forceOff, 0);
    return true;
  }
  // Release, hold, release under the workaround register (nrfx nrf_reset.h); each probe write takes
  // longer than its minimum delays (5 us, 1 us). A half-done release goes back to held.
  const workaround = forceOff + net.erratum161.workaroundOffset;
  await session.writeU32(workaround, 1);
  try {
    await session.writeU32(forceOff, 0);
    await session.writeU32(forceOff, 1);
    await session.writeU32(forceOff, 0);
  } catch (error) {
    await session.writeU32(forceOff, 1).catch(() => undefined);
    throw error;
  } finally {
    await session.writeU32(workaround, 0);
  }
  return true;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether the core's debug port says it is open, by what the chip has (target debugLock). */
async function coreAnswers(session: ProbeSession, target: Target, net: NetworkSpec): Promise<boolean> {
  const lock = net.debugLock;
  if (lock.kind === 'ctrlApApprotectStatus') return (await session.readAccessPort(net.ctrlAp, lock.register)) !== 0;
  return ((await session.readAccessPort(net.ahbAp, MEM_AP_CSW)) & CSW_DEVICE_EN) !== 0;
}
const MEM_AP_CSW = 0x00;
const CSW_DEVICE_EN = 1 << 6;

/** Polls until the just-released core answers, at most accessTimeoutMs; returns whether it did. */
async function waitForNetworkCore(session: ProbeSession, target: Target): Promise<boolean> {
  const net = network(target);
  const deadline = Date.now() + net.accessTimeoutMs;
  for (;;) {
    if (await coreAnswers(session, target, net)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(1);
  }
}

/**
 * Runs a network-core step; when it meets DEVICE_PROTECTED on a core this run just released, it
 * waits for the core to power up and runs the step once more. A core that never answers is locked.
 */
async function afterRelease<T>(session: ProbeSession, target: Target, released: boolean, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!released || !isProtected(error) || !(await waitForNetworkCore(session, target))) throw error;
    return step();
  }
}

/**
 * `operations` on the network core, back on the application core afterwards even when one failed,
 * without hiding its error: select network, the operations, select application, in one batch.
 * Resolves with each operation's result (index 0 is the first of `operations`).
 */
async function onNetworkCore(session: ProbeSession, operations: readonly ProbeOperation[]): Promise<Array<Uint8Array | number | undefined>> {
  const result = await runScopedOperations(
    session,
    [{ op: 'selectCore', core: 'network' }, ...operations, { op: 'selectCore', core: 'application' }],
    (r) => r.error,
  );
  return result.results.slice(1, -1);
}

function isProtected(error: unknown): boolean {
  return error instanceof ProbeError || error instanceof TfmError ? error.code === 'DEVICE_PROTECTED' : false;
}

/**
 * Releases FORCEOFF when it holds the network core off and halts the core straight away (select
 * network, halt, select application), before its firmware can do anything. Returns whether FORCEOFF
 * was held: then the caller puts it back with holdNetworkCore() unless it locks the core. Throws
 * DEVICE_PROTECTED when the core's port is locked (it cannot be halted; it runs).
 */
export async function releaseNetworkCore(session: ProbeSession, target: Target, options: NetworkCoreOptions = {}): Promise<boolean> {
  const held = await releaseForceOff(session, target, options);
  if (held) await afterRelease(session, target, true, () => onNetworkCore(session, [{ op: 'halt' }]));
  return held;
}

/** Holds the network core off again (RESET.NETWORK.FORCEOFF = 1): powered down, as after a reset. */
export async function holdNetworkCore(session: ProbeSession, target: Target): Promise<void> {
  await session.writeU32(await forceOffAddress(session, network(target)), 1);
}

/**
 * Releases the core if needed (and halts it at once, see releaseNetworkCore) and reads its
 * UICR.APPROTECT: select network, [halt], one read, select application.
 */
export async function readNetworkCore(session: ProbeSession, target: Target, options: NetworkCoreOptions = {}): Promise<NetworkCoreReading> {
  const net = network(target);
  const wasForcedOff = await releaseForceOff(session, target, options);
  try {
    const approtect = await afterRelease(session, target, wasForcedOff, async () => {
      const results = await onNetworkCore(session, [...(wasForcedOff ? [{ op: 'halt' } as const] : []), { op: 'readU32', address: net.approtect }]);
      return results[results.length - 1] as number;
    });
    return { wasForcedOff, accessible: true, approtect, locked: approtect === NETWORK_APPROTECT_PROTECTED };
  } catch (error) {
    if (isProtected(error)) return { wasForcedOff, accessible: false, locked: true };
    throw error;
  }
}

export function planNetworkCoreLock(target: Target): PlannedDeviceWrite[] {
  const net = network(target);
  return [
    {
      core: 'network',
      address: net.approtect,
      value: NETWORK_APPROTECT_PROTECTED,
      size: 4,
      nvmc: true,
      purpose: `network core UICR.APPROTECT = Protected (through the network NVMC at ${hex32(net.nvmcBase)})`,
    },
  ];
}

/**
 * Writes the network core's UICR.APPROTECT = 0 and reads it back. Returns whether it reads 0. The
 * core is halted first: its CPU must not run while the debugger drives its NVMC (device-facts 5.3).
 * `halted: true` says the caller halted it in this session and nothing has run it since (preflight
 * halts it in the transaction that releases FORCEOFF; no reset or go follows in a host run), so
 * the halt is not repeated. FORCEOFF must be released already (releaseNetworkCore).
 */
export async function lockNetworkCore(session: ProbeSession, target: Target, options: { halted?: boolean } = {}): Promise<boolean> {
  const net = network(target);
  // The read-back is the last operation before the core is deselected: nothing after it writes.
  const results = await onNetworkCore(session, [
    ...(options.halted ? [] : [{ op: 'halt' } as const]),
    { op: 'writeU32', address: net.approtect, value: NETWORK_APPROTECT_PROTECTED, nvmc: true },
    { op: 'readU32', address: net.approtect },
  ]);
  return results[results.length - 1] === NETWORK_APPROTECT_PROTECTED;
}
