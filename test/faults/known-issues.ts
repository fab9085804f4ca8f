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

// image-after-write-too-late and image-locked-after-recover: fixed in lib/image/strategy.ts
// (afterWrite from the first flash erase; erased APPROTECT words opened before the image's reset).
export const KNOWN_ISSUES: KnownIssue[] = [];

/** The problems of a case that no known issue explains. */
export function unexplained(c: SweepCase): string[] {
  return c.problems.filter((p) => !KNOWN_ISSUES.some((k) => k.explains(c, p)));
}

/** Ids of the known issues that explain some problem of a case. */
export function knownIssuesOf(c: SweepCase): string[] {
  return KNOWN_ISSUES.filter((k) => c.problems.some((p) => k.explains(c, p))).map((k) => k.id);
}
