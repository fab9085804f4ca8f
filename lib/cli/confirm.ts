/**
 * Typed confirmation before irreversible work on a real probe (espefuse's "type BURN", made
 * specific): the operator types the last 6 digits of the probe serial, so the confirmation names
 * the device they are about to change (for a station of several probes, the probes are listed and
 * the operator types how many there are). `--yes` skips it; without a terminal and without `--yes` the
 * command refuses with CONFIRMATION_REQUIRED rather than waiting on a pipe. Simulated sessions need
 * no confirmation.
 */
import * as readline from 'node:readline';
import { TfmError } from '../errors';

export interface ConfirmIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

export interface ConfirmRequest {
  /** What will happen, e.g. "provision (lifecycle, keys, network-core debug lock)". */
  action: string;
  /** Probe serial numbers of the devices concerned. */
  serialNumbers: number[];
  /** `--yes` was given. */
  yes: boolean;
  /** All sessions are simulated (simulator or fake vendor library): no confirmation needed. */
  simulated: boolean;
  /** Extra warning lines printed before the question. */
  warnings?: string[];
  /** Aborted by Ctrl-C (SIGINT), SIGTERM, SIGHUP: the question is withdrawn, INTERRUPTED, nothing written. */
  signal?: AbortSignal;
}

/** The text the operator must type for one serial: its last 6 digits (all of a shorter serial). */
export function confirmationCode(serialNumber: number): string {
  const digits = String(serialNumber);
  return digits.slice(-6);
}

/** Resolves when confirmed; throws CONFIRMATION_REQUIRED or CONFIRMATION_MISMATCH otherwise. */
export async function confirmIrreversible(io: ConfirmIo, request: ConfirmRequest): Promise<void> {
  if (request.simulated || request.yes) return;
  const serials = request.serialNumbers.join(', ');
  if (io.stdin.isTTY !== true) {
    throw new TfmError(
      'CONFIRMATION_REQUIRED',
      `Refusing to ${request.action} on probe ${serials} without confirmation: no terminal to ask on. Add --yes to confirm from a script.`,
      { details: { serialNumbers: request.serialNumbers } },
    );
  }
  for (const warning of request.warnings ?? []) io.stderr.write(`WARNING: ${warning}\n`);
  if (request.serialNumbers.length === 1) {
    const serialNumber = request.serialNumbers[0] as number;
    const expected = confirmationCode(serialNumber);
    const answer = await askLine(
      io,
      request.signal,
      `About to ${request.action} on the device at probe ${serialNumber}. This cannot be undone.\n` +
        `Type the last 6 digits of the probe serial (${expected.length} digits) to continue: `,
    );
    if (answer === undefined || answer.trim() !== expected) {
      throw new TfmError('CONFIRMATION_MISMATCH', `Confirmation for probe ${serialNumber} did not match; nothing was written.`, {
        details: { serialNumber },
      });
    }
    return;
  }
  // Several probes (a station): list them all and ask for their count, one question for the batch.
  const count = String(request.serialNumbers.length);
  const answer = await askLine(
    io,
    request.signal,
    `About to ${request.action} on the devices at these ${count} probes: ${serials}. This cannot be undone.\n` +
      `Type the number of probes (${count}) to continue: `,
  );
  if (answer === undefined || answer.trim() !== count) {
    throw new TfmError('CONFIRMATION_MISMATCH', `Confirmation for ${count} probes did not match; nothing was written.`, {
      details: { serialNumbers: request.serialNumbers },
    });
  }
}

/** Reads one line from the input; undefined if the input ends first; INTERRUPTED when `signal` aborts. */
function askLine(io: ConfirmIo, signal: AbortSignal | undefined, question: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const interrupted = (): TfmError => new TfmError('INTERRUPTED', 'Stopped at the confirmation question; nothing was written.');
    if (signal?.aborted === true) return reject(interrupted());
    io.stderr.write(question);
    const rl = readline.createInterface({ input: io.stdin, terminal: false });
    let settled = false;
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      io.stderr.write('\n');
      rl.close();
      reject(interrupted());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    rl.once('line', (line) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      rl.close();
      resolve(line);
    });
    rl.once('close', () => {
      signal?.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      resolve(undefined);
    });
  });
}
