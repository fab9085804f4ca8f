/**
 * The one shutdown path of a CLI run. SIGINT, SIGTERM, SIGHUP and a broken stdout or stderr
 * (EPIPE when the reader went away, EBADF when the descriptor was closed, EIO when the terminal
 * hung up) all lead here, and all do the same thing: abort `signal`, which stops devices from being
 * started and stops runs that have not written yet; runs that made their first irreversible write
 * finish (provision() only honours the signal before it), their result records are written, and
 * the process exits with a documented code (see exitCode()).
 *
 * Output is fire-and-forget: the streams handed to commands never throw and never emit an
 * unhandled 'error'. A stream that failed is dropped; the run goes on. Why: the outcome of a
 * device must not depend on whether someone is still reading the log (`| head`, a closed ssh
 * session, a terminal that was shut).
 */
import { EXIT } from '../exit-codes';

export type StopReason = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'output';
export type HandledSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** 128 + the signal number (POSIX: SIGHUP 1, SIGINT 2, SIGTERM 15), as shells report a signal death. */
export const SIGNAL_EXIT: Record<HandledSignal, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
/** Exit code when the output closed and devices were left unstarted because of it: 128 + SIGPIPE (13). */
export const OUTPUT_CLOSED_EXIT = 141;

const SIGNALS: HandledSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export interface ProcessLike {
  on(event: HandledSignal, listener: () => void): unknown;
  removeListener(event: HandledSignal, listener: () => void): unknown;
}

export class Shutdown {
  private readonly controller = new AbortController();
  private readonly listeners = new Map<HandledSignal, () => void>();
  private armedOn?: ProcessLike;
  private stopNotices = 0;
  /** The first reason the run was asked to stop. */
  reason?: StopReason;
  /** The first signal received (a later broken pipe does not replace it). */
  signalName?: HandledSignal;
  /** Streams that failed, with their error codes (EPIPE, EBADF, EIO, ...). */
  readonly brokenOutputs: Array<{ stream: 'stdout' | 'stderr'; code: string }> = [];
  private stderrWrite?: (text: string) => void;

  /** Aborted on the first stop reason; hand it to provision() and runStation(). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopped(): boolean {
    return this.reason !== undefined;
  }

  /**
   * Catches SIGINT, SIGTERM and SIGHUP until dispose(). Only device commands arm it: a read-only
   * command (records, list) keeps the default of dying on a signal, which loses nothing.
   */
  arm(proc: ProcessLike = process): void {
    if (this.armedOn !== undefined) return;
    this.armedOn = proc;
    for (const name of SIGNALS) {
      const listener = (): void => this.stop(name);
      this.listeners.set(name, listener);
      proc.on(name, listener);
    }
  }

  dispose(): void {
    const proc = this.armedOn;
    if (proc === undefined) return;
    for (const [name, listener] of this.listeners) proc.removeListener(name, listener);
    this.listeners.clear();
    this.armedOn = undefined;
  }

  stop(reason: StopReason): void {
    if (reason !== 'output' && this.signalName === undefined) this.signalName = reason;
    if (this.reason !== undefined) {
      // A second Ctrl-C (or systemd's repeated SIGTERM) must not kill a device half way: say why we wait.
      if (reason !== 'output' && this.stopNotices++ === 0) this.stderrWrite?.('Still finishing the writes in flight; stopping as soon as they are done.\n');
      return;
    }
    this.reason = reason;
    this.controller.abort();
  }

  /**
   * A stream that never throws and never emits an unhandled 'error': writes after a failure are
   * dropped, and the failure stops the run (no new devices) without changing any outcome.
   */
  guard<S extends NodeJS.WritableStream>(stream: S, name: 'stdout' | 'stderr'): S {
    let broken = false;
    const fail = (error: unknown): void => {
      if (broken) return;
      broken = true;
      this.brokenOutputs.push({ stream: name, code: String((error as NodeJS.ErrnoException | undefined)?.code ?? 'ERROR') });
      this.stop('output');
    };
    // Node emits EPIPE/EBADF as an 'error' event on the stream; unhandled, it kills the process.
    if (typeof (stream as unknown as NodeJS.EventEmitter).on === 'function') (stream as unknown as NodeJS.EventEmitter).on('error', fail);
    const write = (chunk: unknown, encodingOrCallback?: unknown, callback?: unknown): boolean => {
      const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
      if (broken || (stream as unknown as { destroyed?: boolean }).destroyed === true) {
        if (typeof done === 'function') (done as () => void)();
        return true;
      }
      try {
        const encoding = typeof encodingOrCallback === 'string' ? (encodingOrCallback as BufferEncoding) : undefined;
        return (stream.write as (c: unknown, e?: BufferEncoding, cb?: (error?: Error | null) => void) => boolean)(chunk, encoding, (error) => {
          if (error) fail(error);
          if (typeof done === 'function') (done as () => void)();
        });
      } catch (error) {
        fail(error);
        return true;
      }
    };
    const guarded = new Proxy(stream, {
      get(target, property, receiver) {
        if (property === 'write') return write;
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    if (name === 'stderr') this.stderrWrite = (text) => void write(text);
    return guarded;
  }

  /**
   * The exit code once the command returned `code`:
   * - after a signal: 128 + its number (130 SIGINT, 143 SIGTERM, 129 SIGHUP), unless a device
   *   failed or was refused (1, 2, 3, 4, 5 say more and are kept);
   * - after a broken output only: the command's own code (the outcome stands), except that devices
   *   left unstarted because of it (INTERRUPTED, 130) exit 141, so a Ctrl-C is not reported.
   */
  exitCode(code: number): number {
    if (this.signalName !== undefined) return code === EXIT.OK || code === EXIT.INTERRUPTED ? SIGNAL_EXIT[this.signalName] : code;
    if (this.reason === 'output' && code === EXIT.INTERRUPTED) return OUTPUT_CLOSED_EXIT;
    return code;
  }
}
