/** One write as a plan shows it (dry run, audit): where, what, and whether it is irreversible. */
export interface PlannedDeviceWrite {
  core: 'application' | 'network';
  address: number;
  /** A 32-bit value, or for multi-word writes a hex byte string or a key placeholder ("<MKEK[0..15]>"). */
  value: number | string;
  /** Bytes written. */
  size: number;
  /** true: through the NVMC (flash/UICR/KMU; irreversible without an erase-all). false: a register. */
  nvmc: boolean;
  purpose: string;
}
