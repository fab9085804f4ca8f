/**
 * The provisioning image's console, wherever it comes from (RTT through the probe, the kit's serial
 * port, or nothing), reduced to one shape: poll for complete lines.
 *
 * Zephyr's log output looks like `[00:00:00.251,000] <inf> provisioning_image: Success!`, possibly
 * with ANSI colours; printk output (the network-core sample) is the bare text. `classifyLine`
 * strips the decoration so the flow can match the sample's messages exactly.
 */
import type { ErrorCode } from '../errors';
import { NETWORK_SAMPLE_FAILURE_PREFIX, SAMPLE_FAILURE_CODES, SAMPLE_FAILURE_PREFIX, SAMPLE_FAILURES, SAMPLE_MESSAGES } from '../targets/provisioning-sample';

export type ConsoleKind = 'rtt' | 'serial';

export interface ImageConsole {
  readonly kind: ConsoleKind;
  /** Human description, e.g. "RTT up channel 0 at 0x20000410" or "/dev/ttyACM0 at 115200 baud". */
  readonly description: string;
  /** Complete lines received since the last call, in order. */
  poll(): Promise<string[]>;
  close(): Promise<void>;
}

/** Turns a byte stream into lines: LF or CRLF terminated, ANSI escapes removed, NULs dropped. */
export class LineAssembler {
  private pending = '';
  /** Longest partial line kept; a console that never sends a newline must not grow memory forever. */
  constructor(private readonly maxLineLength = 4096) {}

  push(chunk: Uint8Array | string): string[] {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1');
    this.pending += text;
    const lines: string[] = [];
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) >= 0) {
      lines.push(cleanLine(this.pending.slice(0, newline)));
      this.pending = this.pending.slice(newline + 1);
    }
    if (this.pending.length > this.maxLineLength) {
      lines.push(cleanLine(this.pending));
      this.pending = '';
    }
    return lines.filter((line) => line.length > 0);
  }

  /** Whatever is left without a newline (used when the run ends). */
  flush(): string[] {
    const rest = cleanLine(this.pending);
    this.pending = '';
    return rest.length > 0 ? [rest] : [];
  }
}

// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\x1b\[[0-9;]*[A-Za-z]/gu;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/gu;

function cleanLine(raw: string): string {
  return raw.replace(ANSI_ESCAPE, '').replace(/\r/gu, '').replace(CONTROL, '').trimEnd();
}

/** A Zephyr log prefix: optional timestamp, level tag, module name. */
const LOG_PREFIX = /^(?:\[[^\]]*\]\s*)?(?:<(?:inf|wrn|err|dbg)>\s*)?(?:[A-Za-z0-9_]+:\s+)?/u;

export type LineKind = 'success' | 'failure' | 'info';

export interface ClassifiedLine {
  kind: LineKind;
  /** The message without timestamp, level and module. */
  message: string;
  /** For a failure line: which of the sample's failures it is (SAMPLE_FAILURES key, 'networkApprotect'
   *  for the network image's, 'unknown' for another `Failure:` line) and the error code it maps to. */
  failure?: { name: string; code: ErrorCode };
}

/**
 * The sample's outcome lines (device-facts 1.1, 1.2): `Success!` ends both images well; every
 * application-image error path logs a line starting `Failure:`; the network image's only error is
 * `Cannot write to the UICR->APPROTECT register, exiting...!`. Anything else is progress.
 */
export function classifyLine(line: string): ClassifiedLine {
  const message = line.replace(LOG_PREFIX, '').trim();
  if (message === SAMPLE_MESSAGES.success) return { kind: 'success', message };
  if (message.startsWith(SAMPLE_FAILURE_PREFIX) || message.startsWith(NETWORK_SAMPLE_FAILURE_PREFIX)) return { kind: 'failure', message, failure: failureOf(message) };
  return { kind: 'info', message };
}

/**
 * Which failure a failure line is: the sample's lines verbatim (newest main.c), each with its own
 * code; the network image's APPROTECT line; anything else starting `Failure:` is IMAGE_FAILED (a
 * build whose wording differs).
 */
export function failureOf(message: string): { name: string; code: ErrorCode } {
  for (const [name, code] of Object.entries(SAMPLE_FAILURE_CODES)) {
    if (message === SAMPLE_FAILURES[name as keyof typeof SAMPLE_FAILURE_CODES]) return { name, code };
  }
  if (message.startsWith(NETWORK_SAMPLE_FAILURE_PREFIX)) return { name: 'networkApprotect', code: 'IMAGE_NETWORK_APPROTECT_FAILED' };
  return { name: 'unknown', code: 'IMAGE_FAILED' };
}

/** `<label> public key ... 04<128 hex digits>`: an uncompressed P-256 point, if an image prints one.
 *  The stock sample does not; a customised image may, and then the result can report it. */
const PUBLIC_KEY_LINE = /public key\b[^0-9a-fA-F]*((?:0x)?04[0-9a-fA-F]{128})\b/iu;

export function publicKeyInLine(message: string): string | undefined {
  const match = PUBLIC_KEY_LINE.exec(message);
  if (!match) return undefined;
  return match[1]!.replace(/^0x/iu, '').toLowerCase();
}
