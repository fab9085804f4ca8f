/**
 * The signal-and-pipe sweep: the real CLI as a child process on simulated state files, stopped at
 * probe operation N of its run by SIGTERM, SIGHUP or the reader of its stdout going away (the
 * simulator's stop hook, lib/cli/sim-stop.ts, raises the signal on the process itself or waits
 * until the parent has closed the pipe). Every case is held to three rules:
 *
 *  1. no device is left partly provisioned: each is untouched (ASSEMBLY, no key, implementation
 *     ID erased) or complete (what `provision` would find already provisioned);
 *  2. every intent record has its result record;
 *  3. the exit code is the documented one: 143 for SIGTERM, 129 for SIGHUP; for a closed stdout
 *     the outcome's own code, 0 when every device finished, 141 when some were left unstarted;
 *     and no internal error, no stack trace, no death by the signal.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from '../../lib/provision';
import { readRecords } from '../../lib/records';
import { SimBinding, SimulatedDevice } from '../../lib/sim';
import { collect, spawnCli } from '../cli/support/cli';
import { writeImageFixtures } from '../fixtures/images';

export const STOP_KINDS = ['SIGTERM', 'SIGHUP', 'close-stdout'] as const;
export type StopKind = (typeof STOP_KINDS)[number];

export interface SweepConfig {
  name: string;
  /** CLI arguments, given the case's directory (records and state files live there). */
  args(dir: string): string[];
  /** The simulated devices' state files of a case. */
  stateFiles(dir: string): string[];
}

const records = (dir: string): string => path.join(dir, 'records.jsonl');

export const SWEEP_CONFIGS: SweepConfig[] = [
  {
    name: 'provision host nrf5340',
    args: (dir) => ['provision', '--sim', path.join(dir, 'dev.json'), '--records', records(dir), '--json'],
    stateFiles: (dir) => [path.join(dir, 'dev.json')],
  },
  {
    name: 'provision image nrf5340',
    args: (dir) => {
      const images = writeImageFixtures(path.join(dir, 'images'));
      return ['provision', '--sim', path.join(dir, 'dev.json'), '--strategy', 'image', '--image', images.provisioning, '--records', records(dir), '--json'];
    },
    stateFiles: (dir) => [path.join(dir, 'dev.json')],
  },
  {
    name: 'station 4 x nrf5340',
    args: (dir) => ['station', '--sim-count', '4', '--sim-state-dir', path.join(dir, 'states'), '--records', records(dir), '--json'],
    stateFiles: (dir) => (existsSync(path.join(dir, 'states')) ? readdirSync(path.join(dir, 'states')).filter((f) => f.endsWith('.json')).map((f) => path.join(dir, 'states', f)) : []),
  },
];

export type DeviceState = 'untouched' | 'complete' | 'partial';

export interface SignalCase {
  config: string;
  kind: StopKind;
  at: number;
  code: number | null;
  signal: string | null;
  devices: Record<DeviceState, number>;
  intents: number;
  results: number;
  problems: string[];
}

async function classify(file: string): Promise<DeviceState> {
  const device = SimulatedDevice.load(file);
  const dump = device.dump();
  if (dump.lifecycle === 'ASSEMBLY' && dump.kmuSlots.length === 0 && /^(ff)+$/u.test(dump.implementationId)) return 'untouched';
  const binding = new SimBinding({ latencyMs: 0 });
  binding.attach(1, device);
  const session = await binding.open(1);
  try {
    const report = await inspect(session, {});
    return report.decision.action === 'alreadyProvisioned' ? 'complete' : 'partial';
  } finally {
    await session.close();
  }
}

/** The number of probe operations of a clean run of `config` (the stop hook's count mode). */
export async function cleanOperations(config: SweepConfig): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tfm-signal-sweep-'));
  try {
    const child = spawnCli(config.args(dir), { cwd: dir, env: { ...process.env, TFM_PROVISION_LOCK_DIR: path.join(dir, 'locks'), TFM_PROVISION_SIM_STOP_AT: 'count' } });
    child.stdin?.end();
    const run = await collect(child);
    const match = /tfm-provision-sim: operations ([0-9]+)/u.exec(run.stderr);
    if (run.code !== 0 || match === null) throw new Error(`clean run of ${config.name} failed (${run.code}): ${run.stderr.slice(-500)}`);
    return Number(match[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runCase(config: SweepConfig, kind: StopKind, at: number): Promise<SignalCase> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tfm-signal-sweep-'));
  try {
    const ack = path.join(dir, 'stdout-closed');
    const child = spawnCli(config.args(dir), {
      cwd: dir,
      env: { ...process.env, TFM_PROVISION_LOCK_DIR: path.join(dir, 'locks'), TFM_PROVISION_SIM_STOP_AT: `${at}:${kind}`, TFM_PROVISION_SIM_STOP_ACK: ack },
    });
    child.stdin?.end();
    if (kind === 'close-stdout') {
      let seen = '';
      child.stderr?.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('tfm-provision-sim: stop') && !existsSync(ack)) {
          child.stdout?.destroy();
          writeFileSync(ack, '');
        }
      });
    }
    const run = await collect(child);
    const problems: string[] = [];
    const devices: Record<DeviceState, number> = { untouched: 0, complete: 0, partial: 0 };
    for (const file of config.stateFiles(dir)) devices[await classify(file)]++;
    const all = existsSync(records(dir)) ? await readRecords(records(dir)) : [];
    const intents = all.filter((r) => r.type === 'intent');
    const results = all.filter((r) => r.type === 'result');
    const resulted = new Set(results.map((r) => (r as { attempt?: string }).attempt));
    const orphans = intents.filter((r) => !resulted.has((r as { attempt?: string }).attempt));

    if (run.signal !== null) problems.push(`killed by ${run.signal}`);
    if (devices.partial > 0) problems.push(`${devices.partial} partly provisioned device(s)`);
    if (orphans.length > 0) problems.push(`${orphans.length} intent(s) without a result record`);
    if (intents.length < devices.complete) problems.push(`${devices.complete} complete device(s) but ${intents.length} intent record(s)`);
    const expected = kind === 'SIGTERM' ? 143 : kind === 'SIGHUP' ? 129 : devices.untouched > 0 ? 141 : 0;
    if (run.code !== expected) problems.push(`exit ${run.code}, expected ${expected}`);
    if (/internal error|INTERNAL_ERROR|\n\s+at /u.test(run.stderr)) problems.push(`internal error on stderr: ${run.stderr.slice(0, 300)}`);
    return { config: config.name, kind, at, code: run.code, signal: run.signal, devices, intents: intents.length, results: results.length, problems };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The operations a sweep stops at: every one with `full`, else `samples` spread evenly over the
 * run (first and last included), shifted per kind so the kinds between them cover more points.
 */
export function stopPoints(operations: number, kindIndex: number, samples: number, full: boolean): number[] {
  if (full || operations <= samples) return Array.from({ length: operations }, (_, i) => i);
  const step = (operations - 1) / (samples - 1);
  const shift = Math.floor((step * kindIndex) / STOP_KINDS.length);
  const points = new Set<number>();
  for (let i = 0; i < samples; i++) points.add(Math.min(operations - 1, Math.round(i * step) + (i === 0 || i === samples - 1 ? 0 : shift)));
  return [...points].sort((a, b) => a - b);
}

/** Runs jobs with at most `limit` at a time (the CI machine has two cores). */
export async function pool<T>(jobs: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < jobs.length; i = next++) results[i] = await jobs[i]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

export interface SweepRow {
  config: string;
  kind: StopKind;
  operations: number;
  cases: number;
  untouched: number;
  complete: number;
  partial: number;
  orphanIntents: number;
  wrongExit: number;
  problems: number;
}

export function summarise(cases: SignalCase[], operations: Record<string, number>): SweepRow[] {
  const rows: SweepRow[] = [];
  for (const config of SWEEP_CONFIGS) {
    for (const kind of STOP_KINDS) {
      const mine = cases.filter((c) => c.config === config.name && c.kind === kind);
      if (mine.length === 0) continue;
      rows.push({
        config: config.name,
        kind,
        operations: operations[config.name] ?? 0,
        cases: mine.length,
        untouched: mine.reduce((n, c) => n + c.devices.untouched, 0),
        complete: mine.reduce((n, c) => n + c.devices.complete, 0),
        partial: mine.reduce((n, c) => n + c.devices.partial, 0),
        orphanIntents: mine.filter((c) => c.problems.some((p) => p.includes('without a result'))).length,
        wrongExit: mine.filter((c) => c.problems.some((p) => p.startsWith('exit '))).length,
        problems: mine.filter((c) => c.problems.length > 0).length,
      });
    }
  }
  return rows;
}

export function formatTable(rows: SweepRow[]): string {
  const header = ['run', 'stop', 'ops', 'cases', 'devices untouched', 'complete', 'partial', 'intent w/o result', 'wrong exit', 'problems'];
  const body = rows.map((r) => [r.config, r.kind, String(r.operations), String(r.cases), String(r.untouched), String(r.complete), String(r.partial), String(r.orphanIntents), String(r.wrongExit), String(r.problems)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [header, ...body].map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
