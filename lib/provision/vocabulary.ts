/** Names a provisioning run reports with: its steps, the components it puts on a device, its planned writes. */

export type StepName =
  | 'preflight'
  | 'generateKeys'
  | 'lifecycle'
  | 'mkek'
  | 'mext'
  | 'identityKey'
  | 'implementationId'
  | 'networkCore'
  | 'verify'
  // image strategy (lib/provision/strategies/image.ts)
  | 'checkImages'
  | 'programImage'
  | 'runImage'
  | 'removeImage'
  | 'programApp'
  | 'startApp';

/** What provisioning puts on a device, as the diagnosis of a re-run names it. */
export type ComponentName = 'lifecycle' | 'mkek' | 'mext' | 'identityKey' | 'implementationId' | 'networkCoreApprotect';
/**
 * absent: erased. present: as provisioning writes it. partial: begun but incomplete (an interrupted
 * run). foreign: written with other values (another tool or firmware). notApplicable: not on this
 * chip or not asked for.
 */
export type ComponentState = 'absent' | 'present' | 'partial' | 'foreign' | 'notApplicable';

/** One write of the plan, JSON-ready. Key bytes appear only as placeholders like "<MKEK[0..15]>". */
export interface PlannedWrite {
  step: StepName;
  core: 'application' | 'network';
  /** "0x00FF8100" */
  address: string;
  size: number;
  /** "0xFFFF0000", a hex byte string (implementation ID) or a key placeholder. */
  value: string;
  /** true: non-volatile, through the NVMC (irreversible until an erase-all). false: a register. */
  nvmc: boolean;
  purpose: string;
}
