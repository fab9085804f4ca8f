/**
 * The application core's UICR head: APPROTECT, SECUREAPPROTECT, ERASEPROTECT, the lifecycle and the
 * implementation ID, read in one block (they sit within 0x130 bytes of the UICR base on every chip),
 * and the implementation-ID write (bl_storage_data.implementation_id, 8 words).
 */
import type { ProbeOperation, ProbeSession } from '../probe/types';
import type { Target } from '../targets';
import { bytesEqual, hex32, isErased, toHex, wordAt } from '../bytes';
import { runOperations } from './batch';
import { decodeLifecycle, type LifecycleReading } from './lifecycle';
import type { PlannedDeviceWrite } from './types';

export interface ProtectionReading {
  approtect: number;
  secureApprotect: number;
  eraseProtect: number;
  /** UICR holds the value that leaves the debug port open after reset (firmware still decides). */
  approtectOpen: boolean;
  secureApprotectOpen: boolean;
  /** ERASEPROTECT is set: an erase-all (the only recovery from a partial provisioning) is blocked. */
  eraseProtected: boolean;
}

export interface ApplicationUicrReading {
  protection: ProtectionReading;
  lifecycle: LifecycleReading;
  /** The 32 bytes of bl_storage_data.implementation_id (public: it goes into attestation tokens). */
  implementationId: Uint8Array;
}

function window(target: Target): { start: number; length: number } {
  const start = Math.min(target.uicr.approtect, target.uicr.secureApprotect, target.uicr.eraseProtect, target.lifecycle.provisioning);
  const end = Math.max(target.uicr.approtect, target.uicr.secureApprotect, target.uicr.eraseProtect) + 4;
  return { start, length: Math.max(end, target.implementationId.address + target.implementationId.length) - start };
}

/** One read of the UICR head. */
export async function readApplicationUicr(session: ProbeSession, target: Target): Promise<ApplicationUicrReading> {
  const { start, length } = window(target);
  return decodeApplicationUicr(target, await session.read(start, length));
}

/** readApplicationUicr's read, for a batch (lib/device/batch.ts). */
export function applicationUicrOperation(target: Target): ProbeOperation {
  const { start, length } = window(target);
  return { op: 'read', address: start, length };
}

/** The UICR head from the bytes of applicationUicrOperation (the implementation ID is a copy). */
export function decodeApplicationUicr(target: Target, head: Uint8Array): ApplicationUicrReading {
  const { start } = window(target);
  const word = (address: number): number => wordAt(head, address - start);
  const approtect = word(target.uicr.approtect);
  const secureApprotect = word(target.uicr.secureApprotect);
  const eraseProtect = word(target.uicr.eraseProtect);
  const lcsOffset = target.lifecycle.provisioning - start;
  const idOffset = target.implementationId.address - start;
  return {
    protection: {
      approtect,
      secureApprotect,
      eraseProtect,
      approtectOpen: approtect === target.uicr.approtectUnprotected,
      secureApprotectOpen: secureApprotect === target.uicr.approtectUnprotected,
      eraseProtected: eraseProtect !== target.uicr.eraseProtectUnprotected,
    },
    lifecycle: decodeLifecycle(head.subarray(lcsOffset, lcsOffset + 8)),
    implementationId: head.slice(idOffset, idOffset + target.implementationId.length),
  };
}

export type ImplementationIdState = 'erased' | 'equal' | 'different' | 'partial';

export function compareImplementationId(onDevice: Uint8Array, wanted: Uint8Array): ImplementationIdState {
  if (bytesEqual(onDevice, wanted)) return 'equal';
  if (isErased(onDevice)) return 'erased';
  // Some words still erased: an interrupted 8-word write (or a different ID being written).
  for (let o = 0; o < onDevice.length; o += 4) if (wordAt(onDevice, o) === 0xffffffff) return 'partial';
  return 'different';
}

export function planImplementationIdWrite(target: Target, id: Uint8Array): PlannedDeviceWrite[] {
  return [
    {
      core: 'application',
      address: target.implementationId.address,
      value: toHex(id),
      size: id.length,
      nvmc: true,
      purpose: `implementation ID (8 words at ${hex32(target.implementationId.address)})`,
    },
  ];
}

/** One 32-byte NVMC write, as provision_implementation_id() writes 8 whole words; then one read
 *  back (one batch: nothing follows the read-back in it). */
export async function writeImplementationId(session: ProbeSession, target: Target, id: Uint8Array): Promise<boolean> {
  const { address, length } = target.implementationId;
  const result = await runOperations(session, [
    { op: 'write', address, data: id, nvmc: true },
    { op: 'read', address, length },
  ]);
  if (result.stoppedAt !== undefined) throw result.error;
  return bytesEqual(result.results[1] as Uint8Array, id);
}
