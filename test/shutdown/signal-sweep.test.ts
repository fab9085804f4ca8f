/**
 * Signal-and-pipe sweep (see signal-sweep.ts): provision (host and image strategy) and a 4-device
 * station, stopped by SIGTERM, SIGHUP or a closed stdout at sampled probe operations of each run
 * (SIGNAL_SWEEP_FULL=1: at every operation, which takes far longer than CI allows). Prints the table
 * and leaves test/.tmp/signal-sweep.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ensureBuilt } from '../cli/support/cli';
import { STOP_KINDS, SWEEP_CONFIGS, cleanOperations, formatTable, pool, runCase, stopPoints, summarise, type SignalCase } from './signal-sweep';

const FULL = process.env.SIGNAL_SWEEP_FULL === '1';
/** Stop points per run and kind in CI: the first and last operation and evenly spread ones between. */
const SAMPLES = Number(process.env.SIGNAL_SWEEP_SAMPLES ?? 7);

describe('signal-and-pipe sweep: SIGTERM, SIGHUP and a closed stdout at probe operations of provision and a 4-device station', () => {
  let cases: SignalCase[] = [];
  const operations: Record<string, number> = {};

  beforeAll(async () => {
    ensureBuilt();
    const started = Date.now();
    for (const config of SWEEP_CONFIGS) operations[config.name] = await cleanOperations(config);
    const jobs = SWEEP_CONFIGS.flatMap((config) =>
      STOP_KINDS.flatMap((kind, k) => stopPoints(operations[config.name]!, k, SAMPLES, FULL).map((at) => () => runCase(config, kind, at))),
    );
    cases = await pool(jobs, 2);
    const rows = summarise(cases, operations);
    const report = {
      generatedAt: new Date().toISOString(),
      node: process.version,
      sampling: FULL ? 'every operation' : `${SAMPLES} operations per run and kind, evenly spread (first and last included), shifted per kind`,
      totals: { cases: cases.length, problems: cases.filter((c) => c.problems.length > 0).length, durationMs: Date.now() - started },
      rows,
      cases,
    };
    const out = path.resolve(__dirname, '..', '.tmp', 'signal-sweep.json');
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(report, null, 1)}\n`);
    process.stdout.write(`\nsignal-and-pipe sweep (${report.sampling}; ${report.totals.cases} cases in ${(report.totals.durationMs / 1000).toFixed(1)} s):\n${formatTable(rows)}\n`);
  }, 600_000);

  const describeCase = (c: SignalCase): string => `${c.config} ${c.kind}@${c.at}: exit ${c.code}; ${c.problems.join('; ')}`;

  test('covers each run with each way of stopping, from its first operation to its last', () => {
    for (const config of SWEEP_CONFIGS) {
      expect(operations[config.name]).toBeGreaterThan(20);
      for (const kind of STOP_KINDS) {
        const points = cases.filter((c) => c.config === config.name && c.kind === kind).map((c) => c.at);
        expect(points).toContain(0);
        expect(points).toContain(operations[config.name]! - 1);
      }
    }
  });

  test('no device is left partly provisioned', () => {
    expect(cases.filter((c) => c.devices.partial > 0).map(describeCase)).toEqual([]);
  });

  test('every intent record has its result record', () => {
    expect(cases.filter((c) => c.problems.some((p) => p.includes('intent'))).map(describeCase)).toEqual([]);
  });

  test('the exit code is the documented one (143 SIGTERM, 129 SIGHUP; closed stdout: the outcome, or 141 with devices left unstarted), never a death by the signal or an internal error', () => {
    expect(cases.filter((c) => c.problems.length > 0).map(describeCase)).toEqual([]);
  });

  test('some cases stop before the first write and some after it (the sweep reaches both sides)', () => {
    expect(cases.some((c) => c.devices.untouched > 0)).toBe(true);
    expect(cases.some((c) => c.devices.complete > 0)).toBe(true);
  });
});
