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
 */
import { ProbeError, TfmError } from '../errors';
import type { ProbeSession } from '../probe/types';
import type { Target } from '../targets';
import { hex32 } from '../bytes';
import { scoped } from './scoped';
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

/** Reads FORCEOFF and writes 0 only when it holds the core off; returns whether it did. */
async function releaseForceOff(session: ProbeSession, target: Target): Promise<boolean> {
  const { forceOff } = network(target);
  const held = ((await session.readU32(forceOff)) & 1) === 1;
  if (held) await session.writeU32(forceOff, 0);
  return held;
}

/** Back on the application core afterwards, even when the step failed, without hiding its error. */
function onNetworkCore<T>(session: ProbeSession, body: () => Promise<T>): Promise<T> {
  return scoped(() => session.selectCore('network'), body, () => session.selectCore('application'));
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
export async function releaseNetworkCore(session: ProbeSession, target: Target): Promise<boolean> {
  const held = await releaseForceOff(session, target);
  if (held) await onNetworkCore(session, () => session.halt());
  return held;
}

/** Holds the network core off again (RESET.NETWORK.FORCEOFF = 1): powered down, as after a reset. */
export async function holdNetworkCore(session: ProbeSession, target: Target): Promise<void> {
  await session.writeU32(network(target).forceOff, 1);
}

/**
 * Releases the core if needed (and halts it at once, see releaseNetworkCore) and reads its
 * UICR.APPROTECT: select network, [halt], one read, select application.
 */
export async function readNetworkCore(session: ProbeSession, target: Target): Promise<NetworkCoreReading> {
  const net = network(target);
  const wasForcedOff = await releaseForceOff(session, target);
  try {
    const approtect = await onNetworkCore(session, async () => {
      if (wasForcedOff) await session.halt();
      return session.readU32(net.approtect);
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
 * FORCEOFF must be released already (releaseNetworkCore).
 */
export async function lockNetworkCore(session: ProbeSession, target: Target): Promise<boolean> {
  const net = network(target);
  return onNetworkCore(session, async () => {
    await session.halt();
    await session.writeU32(net.approtect, NETWORK_APPROTECT_PROTECTED, { nvmc: true });
    return (await session.readU32(net.approtect)) === NETWORK_APPROTECT_PROTECTED;
  });
}
