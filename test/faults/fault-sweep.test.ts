/**
 * Fault sweep (see sweep.ts): nRF5340 and nRF9160, host strategy, every probe operation of a clean
 * run x every fault profile. It runs in a child process (run-sweep.js) so that process-level
 * 'uncaughtException' / 'unhandledRejection' listeners are real (Jest hides them from test code).
 * Prints the table and leaves test/.tmp/fault-sweep.json.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { SweepCase } from './sweep';

interface Report {
  totals: { cases: number; problems: number; uncaught: number; durationMs: number };
  sweeps: Array<{ chip: string; strategy: string; cleanOperations?: number; cases?: number; skipped?: string }>;
  uncaught: Array<{ event: string; error: string }>;
  kinds: string[];
  cases: SweepCase[];
}

const runner = path.join(__dirname, 'run-sweep.js');
const tmp = path.resolve(__dirname, '..', '.tmp');

function runSweepProcess(args: string[], out: string): { report: Report; stdout: string } {
  const stdout = execFileSync(process.execPath, [runner, '--out', out, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
  return { report: JSON.parse(readFileSync(out, 'utf8')) as Report, stdout };
}

const describeCase = (c: SweepCase): string =>
  `${c.chip} ${c.strategy} ${c.kind}@${c.k} ${c.operation} (${c.step}): ${c.attempts.map((a) => `${a.before}->${a.ok ? a.outcome : a.errorCode}`).join(' ')} | ${c.problems.join('; ')}`;

describe('fault sweep, host strategy, nRF5340 and nRF9160', () => {
  let report: Report;

  beforeAll(() => {
    const run = runSweepProcess(['--chips', 'nrf5340,nrf9160', '--strategies', 'host'], path.join(tmp, 'fault-sweep.json'));
    report = run.report;
    process.stdout.write(`\n${run.stdout}`);
  }, 300_000);

  test('covers every operation of each clean run with every fault profile', () => {
    for (const sweep of report.sweeps) {
      expect(sweep.skipped).toBeUndefined();
      expect(sweep.cleanOperations).toBeGreaterThan(20);
      expect(sweep.cases).toBe(sweep.cleanOperations! * report.kinds.length);
    }
    expect(report.sweeps.map((s) => s.chip).sort()).toEqual(['nrf5340', 'nrf9160']);
  });

  test('no run reports ok on a device the boot model rejects', () => {
    expect(report.cases.filter((c) => c.attempts.some((a) => a.ok && a.verdict !== 'boots')).map(describeCase)).toEqual([]);
  });

  test('every failure carries a stable error code, and a run that says it wrote nothing did not', () => {
    expect(report.cases.filter((c) => c.problems.some((p) => /stable error code|afterWrite false|threw/.test(p))).map(describeCase)).toEqual([]);
  });

  test('every device ends provisioned, verified and booting after the advertised recovery', () => {
    expect(report.cases.filter((c) => c.problems.length > 0 || c.finalVerdict !== 'boots' || !c.finalVerified).map(describeCase)).toEqual([]);
  });

  test('no uncaught exceptions or unhandled rejections', () => {
    expect(report.uncaught).toEqual([]);
  });
});

test('the sweep runner does see uncaught exceptions and unhandled rejections (control)', () => {
  const { report } = runSweepProcess(['--chips', 'nrf9160', '--strategies', 'none', '--plant-uncaught'], path.join(tmp, 'fault-sweep-control.json'));
  expect(report.uncaught.map((u) => u.event).sort()).toEqual(['uncaughtException', 'unhandledRejection']);
});
