/**
 * A test hook for the signal-and-pipe sweep (test/shutdown): on simulated devices only (--sim,
 * --sim-count), `TFM_PROVISION_SIM_STOP_AT=N:WHAT` makes the process stop itself at its N-th probe
 * operation (0-based, counted over every simulated device of the run) the way the world would:
 *   SIGTERM, SIGHUP, SIGINT   raised on this very process (process.kill), so the real handlers run;
 *   close-stdout              the reader of stdout goes away: the process says so on stderr
 *                             ("tfm-provision-sim: stop N"), then waits (at most 10 s) until the
 *                             file named by TFM_PROVISION_SIM_STOP_ACK exists, which the parent
 *                             creates once it has closed its end; the next write gets a real EPIPE.
 * `TFM_PROVISION_SIM_STOP_AT=count` prints "tfm-provision-sim: operations N" on stderr at exit.
 * Never read for a real probe.
 */
import { existsSync, writeSync } from 'node:fs';
import { TfmError } from '../errors';

const KINDS = ['SIGTERM', 'SIGHUP', 'SIGINT', 'close-stdout'] as const;
export type SimStopKind = (typeof KINDS)[number];

export function simStopHook(env: NodeJS.ProcessEnv): ((index: number, serialNumber: number, method: string) => void) | undefined {
  const spec = env.TFM_PROVISION_SIM_STOP_AT;
  if (spec === undefined || spec === '') return undefined;
  let count = 0;
  if (spec === 'count') {
    process.once('exit', () => {
      try {
        writeSync(2, `tfm-provision-sim: operations ${count}\n`);
      } catch {
        // stderr gone: the count is lost, the run is not
      }
    });
    return () => void count++;
  }
  const match = /^([0-9]+):(.+)$/u.exec(spec);
  const kind = match?.[2] as SimStopKind | undefined;
  if (match === null || kind === undefined || !KINDS.includes(kind)) {
    throw new TfmError('USAGE', `TFM_PROVISION_SIM_STOP_AT must be N:${KINDS.join('|')} or "count" (got "${spec}").`);
  }
  const at = Number(match[1]);
  const ack = env.TFM_PROVISION_SIM_STOP_ACK;
  return () => {
    if (count++ !== at) return;
    if (kind !== 'close-stdout') {
      process.kill(process.pid, kind);
      return;
    }
    try {
      writeSync(2, `tfm-provision-sim: stop ${at}\n`);
    } catch {
      return;
    }
    // A synchronous wait on purpose: the operation must not go on before the pipe is closed.
    const cell = new Int32Array(new SharedArrayBuffer(4));
    for (let waited = 0; ack !== undefined && !existsSync(ack) && waited < 10_000; waited += 2) Atomics.wait(cell, 0, 0, 2);
  };
}
