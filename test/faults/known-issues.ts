/**
 * Defects the fault sweep found that are not fixed yet, each with the exact problems it explains.
 * fault-sweep.test.ts fails on any problem no entry explains, and on an entry that explains
 * nothing any more (the defect was fixed: delete the entry). The runner marks explained cases in
 * the report, so the table separates known issues from new problems.
 */
import type { SweepCase } from './sweep';

export interface KnownIssue {
  id: string;
  what: string;
  /** Whether this issue explains one problem string of one case. */
  explains(c: SweepCase, problem: string): boolean;
}

export const KNOWN_ISSUES: KnownIssue[] = [
  {
    id: 'image-after-write-too-late',
    what:
      'Image strategy: afterWrite is set only just before go() (lib/image/strategy.ts runApplicationImage), but the provisioning ' +
      'image is in flash from programImage on and runs at the next reset or power-up. A probe lost between programImage and go ' +
      'reports "nothing was written" (exit 5) while the image stays in flash; after a power loss it provisions the chip by itself.',
    explains: (c, problem) => c.strategy === 'image' && /^(PROBE_DISCONNECTED|CANNOT_CONNECT) says nothing was written/.test(problem),
  },
  {
    id: 'image-locked-after-recover',
    what:
      "Image strategy after the tool's own recover on nRF5340 (and nRF9161/9151): recover leaves UICR.APPROTECT erased, which is " +
      "not the open value there, so the image strategy's reset locks the debug port; the run fails DEVICE_PROTECTED as refused " +
      '(afterWrite false) with the provisioning image left in flash, and the advice for DEVICE_PROTECTED (recover) leads back ' +
      'to the same state: the device never gets provisioned.',
    explains: (c, problem) =>
      c.strategy === 'image' && c.chip === 'nrf5340' && (/^DEVICE_PROTECTED says nothing was written/.test(problem) || /^not provisioned after \d+ attempts \(last: DEVICE_PROTECTED\)/.test(problem)),
  },
];

/** The problems of a case that no known issue explains. */
export function unexplained(c: SweepCase): string[] {
  return c.problems.filter((p) => !KNOWN_ISSUES.some((k) => k.explains(c, p)));
}

/** Ids of the known issues that explain some problem of a case. */
export function knownIssuesOf(c: SweepCase): string[] {
  return KNOWN_ISSUES.filter((k) => c.problems.some((p) => k.explains(c, p))).map((k) => k.id);
}
