import { ERROR_CODES, type ErrorCode, TfmError } from './errors';

/**
 * Process exit codes. Documented in `--help` and the README; scripts branch on them.
 *   0  success (provisioned and verified, or the command did what it said)
 *   1  internal error (a bug: please report it)
 *   2  usage error (bad arguments or input files; nothing was touched)
 *   3  refused before writing (a check failed; the device is unchanged)
 *   4  failed after writing (the device may be partly provisioned: see the message and records)
 *   5  probe or environment error (library, probe or connection; nothing was written)
 * 130  interrupted (Ctrl-C) before anything was written to the devices still waiting; writes in
 *      flight were finished first
 * 129 / 143  the same for SIGHUP / SIGTERM; 141: the output closed and devices were left unstarted
 *      (cli/shutdown.ts decides these: 128 + the signal's number)
 * A station exits with the worst code among its devices: 4 over 1 over 5 over 3 over 130.
 * The device registry's refusals (QUOTA_EXHAUSTED, LOT_NOT_FOUND, DEVICE_ALREADY_REGISTERED) are 3,
 * its environment errors (REGISTRY_UNAVAILABLE, REGISTRY_NOT_MIGRATED, REGISTRY_PERMISSION_DENIED,
 * REGISTRY_ERROR) 5: all of them come before the first write (docs/registry.md).
 */
export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  REFUSED: 3,
  FAILED_AFTER_WRITE: 4,
  ENVIRONMENT: 5,
  INTERRUPTED: 130,
} as const;

export const EXIT_CODE_HELP = `Exit codes:
  0  success (provisioned and verified, or the command did what it said)
  1  internal error (a bug)
  2  usage error (bad arguments or input; nothing touched)
  3  refused before writing (a check failed; device unchanged)
  4  failed after writing (device may be partly provisioned)
  5  probe or environment error (library, probe, connection)
130  interrupted by Ctrl-C (writes in flight were finished; the rest untouched)
129  the same for SIGHUP, 143 for SIGTERM (a failure, 1 to 5, is reported instead)
141  the output was closed and devices were left unstarted (a finished run keeps its code)
A station exits with the worst code among its devices (4, then 1, 5, 3, 130).
verify exits 3 when the device is not verified (it writes nothing).`;

/** Exit codes a command fixed for one error (see withExitCode). */
const fixedCodes = new WeakMap<object, number>();

/**
 * Fixes the exit code of one error where its category would say more than happened: a `verify`
 * that finds a device not provisioned wrote nothing, so it exits 3 ("not verified"), not 4.
 */
export function withExitCode<E extends object>(error: E, code: number): E {
  fixedCodes.set(error, code);
  return error;
}

export function exitCodeFor(error: unknown): number {
  if (error !== null && typeof error === 'object' && fixedCodes.has(error)) return fixedCodes.get(error)!;
  if (!(error instanceof TfmError)) return EXIT.INTERNAL;
  if (error.afterWrite) return EXIT.FAILED_AFTER_WRITE;
  // Stopped by the operator before the first write: nothing failed, nothing was written.
  if (error.code === 'INTERRUPTED') return EXIT.INTERRUPTED;
  const category = ERROR_CODES[error.code as ErrorCode];
  // The vendor library lacks a function the run needs, found before any write: an environment
  // problem (another library version may have it), and nothing was written.
  if (error.code === 'NOT_IMPLEMENTED') return EXIT.ENVIRONMENT;
  switch (category) {
    case 'usage':
      return EXIT.USAGE;
    case 'refused':
      return EXIT.REFUSED;
    case 'environment':
      return EXIT.ENVIRONMENT;
    case 'device':
      return EXIT.FAILED_AFTER_WRITE;
    default:
      return EXIT.INTERNAL;
  }
}
