/**
 * Close, cleanup and memory safety, in child processes where they need what Jest cannot give:
 * global.gc (--expose-gc), a real process exit, and a clean RSS figure.
 */
import * as fs from 'node:fs';
import { fakeNrfjprog } from '../support/fake-vendor';
import { runChild } from './child-process';

function traceCounts(tracePath: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of fs.readFileSync(tracePath, 'utf8').split('\n')) {
    const fn = line.split(' ')[1];
    if (fn) counts[fn] = (counts[fn] ?? 0) + 1;
  }
  return counts;
}

describe('probe lifecycle', () => {
  beforeAll(() => {
    fakeNrfjprog(); // builds the fake libraries before the children need them
  });

  it('closes the vendor instance of a session that was garbage-collected without close(), after its queued calls', () => {
    const child = runChild('dropped-sessions.js', [], { nodeArgs: ['--expose-gc'] });
    expect(child.stderr).toBe('');
    expect(child.json).toEqual({ liveAfterOpen: 8, liveAfterGc: 0, opened: 8, closed: 8, queuedHaltRan: 1, reopened: 8 });
  });

  it.each(['drain', 'exit'])('ends a process that leaves probes open (%s) and closes every vendor instance', (mode) => {
    const child = runChild('exit-with-open-probes.js', [mode], { timeoutMs: 60_000 });
    expect(child.signal).toBeNull(); // not killed by the timeout: it did not hang
    expect(child.status).toBe(0);
    const counts = traceCounts(String(child.json.tracePath));
    expect(counts.NRFJPROG_open_dll_inst).toBe(4);
    expect(counts.NRFJPROG_close_dll_inst).toBe(4);
  });

  it('does not grow across 10,000 open / read / close cycles', () => {
    const child = runChild('open-close-cycles.js', ['10000'], { nodeArgs: ['--expose-gc'], timeoutMs: 300_000 });
    expect(child.stderr).toBe('');
    const { cycles, growth, elapsedMs, liveWorkers } = child.json as Record<string, number>;
    // A figure for the log, not a timing assertion.
    console.log(`10,000 open/read/close cycles: RSS growth ${(growth / 1024 / 1024).toFixed(1)} MiB in ${elapsedMs} ms`);
    expect(cycles).toBe(10000);
    expect(liveWorkers).toBe(0);
    // Generous: a leak of one thread stack, TSFN or vendor instance per cycle would be far above it.
    expect(growth).toBeLessThan(48 * 1024 * 1024);
  });
});
