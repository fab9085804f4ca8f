/**
 * Runs the programmed provisioning image and follows it until it ends: by its console lines when a
 * console is available, and always by polling the chip, so that a silent or unreachable console
 * still ends the run when the chip shows the image's work is done, and a hang ends at the timeout
 * rather than never.
 *
 * What is polled while the core runs is only what a debugger can read without disturbing the
 * image: the lifecycle word and the implementation ID (plain UICR OTP reads). KMU slot words are
 * reachable only with the slot selected, and SELECTKEYSLOT is shared with the running firmware, so
 * selecting a slot from the probe mid-run could make the image's own key write land in the wrong
 * slot. The KMU PERM words are therefore read once the core is halted (see strategy.ts).
 */
import { TfmError, type ErrorCode } from '../errors';
import type { LifecycleState } from '../targets/lifecycle';
import { classifyLine, failureOf, publicKeyInLine, type ImageConsole } from './console';

/** Time as the run sees it. On hardware, the wall clock; on the simulator, its virtual clock, so
 *  the image model progresses and timeouts fire without real waiting. */
export interface RunClock {
  /** Milliseconds from an arbitrary origin. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const wallClock: RunClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A session that keeps its own time (the simulator's SimSession offers its virtual clock). */
export interface VirtualClockSession {
  readonly virtualClock?: RunClock;
}

/** The session's own clock when it has one, else the wall clock. */
export function clockForSession(session: object): RunClock {
  return (session as VirtualClockSession).virtualClock ?? wallClock;
}

/** What the chip shows of the image's progress, from reads that are safe while it runs. */
export interface ChipProgress {
  /** Decoded lifecycle, e.g. 'ASSEMBLY', 'PROVISIONING', or 'INVALID' for a torn/foreign encoding. */
  lifecycle?: LifecycleState;
  /** All implementation-ID words differ from erased: the provisioning sample's last write is done. */
  implementationIdWritten?: boolean;
  /** The network core's UICR.APPROTECT word (network image run). */
  networkApprotect?: number;
  /** The chip shows the image's work as done. */
  complete: boolean;
}

function sameProgress(a: ChipProgress, b: ChipProgress): boolean {
  return a.lifecycle === b.lifecycle && a.implementationIdWritten === b.implementationIdWritten && a.networkApprotect === b.networkApprotect && a.complete === b.complete;
}

export type RunOutcome = 'success' | 'failure' | 'timeout' | 'chip-complete';

export interface ImageRunReport {
  outcome: RunOutcome;
  /** Console messages (log decoration removed), in order. */
  lines: string[];
  /** The failure line, for outcome 'failure'. */
  failureLine?: string;
  /** Which failure that line is, and its error code (console.ts failureOf). */
  failure?: { name: string; code: ErrorCode };
  /** Uncompressed SEC1 hex, when the image printed its identity public key. */
  identityPublicKey?: string;
  /** Time from `go` to the end of the run, on the run clock. */
  elapsedMs: number;
  progress: ChipProgress;
}

export interface RunWatchOptions {
  clock: RunClock;
  console?: ImageConsole;
  /** True once the console is delivering (RTT control block found; a serial port is always true). */
  consoleAttached?: () => boolean;
  readProgress: () => Promise<ChipProgress>;
  /** Give up after this long (IMAGE_TIMEOUT is raised by the caller from outcome 'timeout'). */
  timeoutMs: number;
  pollIntervalMs: number;
  /** With a console attached: how long to wait for `Success!` after the chip shows completion. */
  successGraceMs: number;
  onLine?: (message: string, raw: string) => void;
  onProgress?: (progress: ChipProgress, previous: ChipProgress | undefined) => void;
}

export const DEFAULT_IMAGE_TIMEOUT_MS = 60_000;
export const DEFAULT_POLL_INTERVAL_MS = 100;
export const DEFAULT_SUCCESS_GRACE_MS = 2_000;

/** Polls console and chip until the image ends or the timeout passes. The core is running. */
export async function watchImageRun(options: RunWatchOptions): Promise<ImageRunReport> {
  const { clock } = options;
  const start = clock.now();
  const lines: string[] = [];
  let identityPublicKey: string | undefined;
  let progress: ChipProgress | undefined;
  let completeSince: number | undefined;

  const finish = (outcome: RunOutcome, failureLine?: string): ImageRunReport => ({
    outcome,
    lines,
    ...(failureLine !== undefined ? { failureLine, failure: failureOf(failureLine) } : {}),
    ...(identityPublicKey !== undefined ? { identityPublicKey } : {}),
    elapsedMs: clock.now() - start,
    progress: progress ?? { complete: false },
  });

  for (;;) {
    if (options.console) {
      for (const raw of await options.console.poll()) {
        const { kind, message } = classifyLine(raw);
        lines.push(message);
        identityPublicKey ??= publicKeyInLine(message);
        options.onLine?.(message, raw);
        if (kind === 'failure') return finish('failure', message);
        if (kind === 'success') {
          progress = await options.readProgress();
          return finish('success');
        }
      }
    }

    const next = await options.readProgress();
    if (!progress || !sameProgress(next, progress)) {
      options.onProgress?.(next, progress);
    }
    progress = next;

    if (progress.complete) {
      completeSince ??= clock.now();
      const attached = options.console !== undefined && (options.consoleAttached?.() ?? true);
      if (!attached || clock.now() - completeSince >= options.successGraceMs) return finish('chip-complete');
    }
    if (clock.now() - start >= options.timeoutMs) return finish('timeout');
    await clock.sleep(options.pollIntervalMs);
  }
}

/** Validates the timeout option (milliseconds, positive, finite). */
export function checkTimeout(timeoutMs: number | undefined, fallback = DEFAULT_IMAGE_TIMEOUT_MS): number {
  const value = timeoutMs ?? fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new TfmError('INVALID_PARAMETER', `The image timeout must be a positive number of milliseconds (got ${String(timeoutMs)}).`);
  }
  return value;
}

/** The error an image run that did not succeed ends with (undefined for success or chip-complete). */
export function outcomeError(report: ImageRunReport, image: { source: string }, timeoutMs: number, what: string): TfmError | undefined {
  const details = { image: image.source, lines: report.lines, progress: report.progress, elapsedMs: Math.round(report.elapsedMs) };
  if (report.outcome === 'failure') {
    const failure = report.failure ?? failureOf(report.failureLine ?? '');
    return new TfmError(failure.code, `The ${what} reported a failure: "${report.failureLine}". Nothing more was written by the host; see the details for what the chip holds.`, {
      afterWrite: true,
      details: { ...details, failureLine: report.failureLine, failure: failure.name },
    });
  }
  if (report.outcome === 'timeout') {
    const seen = report.progress.lifecycle ? ` (lifecycle ${report.progress.lifecycle}${report.progress.implementationIdWritten ? ', implementation ID written' : ''})` : '';
    return new TfmError(
      'IMAGE_TIMEOUT',
      `The ${what} did not finish within ${Math.round(timeoutMs / 1000)} s${seen}${report.lines.length === 0 ? ' and printed nothing that could be read' : ''}. ` +
        'Check that it is a build of the sample for this board, or raise the timeout (--image-timeout).',
      { afterWrite: true, details },
    );
  }
  return undefined;
}
