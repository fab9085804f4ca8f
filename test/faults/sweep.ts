/**
 * The fault sweep: for every probe operation k of a clean provisioning run and every fault kind,
 * provision a fresh simulated device with that fault at operation k, then do what the tool's own
 * outcome tells an operator to do (re-run; or recover with an erase-all, then re-run), until it
 * reports success or the attempts run out. Every outcome is held to four rules:
 *
 *  1. a run that reports ok leaves a device that TF-M's first boot (the boot model, on a clone)
 *     takes to SECURED with the identity key the run reported;
 *  2. a run that fails names a stable error code (ERROR_CODES);
 *  3. a run that says it wrote nothing (afterWrite false) left the chip-off dump as it was;
 *  4. after the advertised recovery the device ends provisioned, verified and booting.
 *
 * Each run is cheap: an in-memory simulator, no latency, no sleeps, so the full k x kinds matrix
 * runs in CI.
 */
import { isErrorCode } from '../../lib/errors';
import type { ProbeSession } from '../../lib/probe/types';
import { provision, verify, type ProvisionOptions, type ProvisionResult, type ProvisionResultFields } from '../../lib/provision';
import { seededRandom } from '../../lib/random';
import { SimBinding, SimulatedDevice, syntheticImageHex, type SimFault, type SimOperation } from '../../lib/sim';
import { recoverDevice } from '../../lib/device/recover';
import type { ChipName } from '../../lib/targets';
import { classifyBoot, type BootVerdict } from '../support/boot-model';

/**
 * The faults injected at each operation. The three kinds the simulator offers, plus a second
 * power-loss variant: the write lands completely and only then the target loses power, so the
 * host sees a failure for a write that happened (the opposite mistake from a torn write).
 */
export interface FaultProfile {
  name: string;
  fault: Omit<SimFault, 'atOperation'>;
}
export const FAULT_PROFILES: FaultProfile[] = [
  { name: 'error', fault: { kind: 'error' } },
  { name: 'disconnect', fault: { kind: 'disconnect' } },
  // Default tear: the first word in flight keeps only the lower half of the bits it was to clear.
  { name: 'power-loss', fault: { kind: 'power-loss' } },
  { name: 'power-loss-after-write', fault: { kind: 'power-loss', tornBits: 0xffffffff, tornWord: 1 << 20 } },
];
export const FAULT_KINDS: string[] = FAULT_PROFILES.map((p) => p.name);
const SERIAL = 683000001;

/** What an operator does next, read from the tool's result exactly as its message says. */
export type OperatorAction = 'rerun' | 'recover+rerun';

export type ProvisionFn = (session: ProbeSession, options: ProvisionOptions) => Promise<ProvisionResult>;

export interface Strategy {
  name: string;
  /** Extra provision() options for this strategy (image, ...). */
  options(device: SimulatedDevice): Partial<ProvisionOptions>;
  /** The tool under test; provision() unless a control test swaps in a broken one. */
  provision?: ProvisionFn;
}

export const HOST_STRATEGY: Strategy = { name: 'host', options: () => ({}) };

export interface AttemptRecord {
  /** What preceded this run: nothing (first run), a plain re-run, or recover then re-run. */
  before: 'none' | OperatorAction;
  ok: boolean;
  outcome: string;
  errorCode?: string;
  afterWrite: boolean;
  /** For a failed run: what the tool's outcome tells the operator to do next. */
  advice?: OperatorAction;
  /** For an ok run: the boot model's verdict on the device. */
  verdict?: BootVerdict;
}

export interface SweepCase {
  chip: ChipName;
  strategy: string;
  /** Fault profile name (FAULT_PROFILES). */
  kind: string;
  /** Operation index the fault was injected at. */
  k: number;
  /** The clean run's operation at k ("writeU32 0x00FF8100"). */
  operation: string;
  /** The step that operation belongs to in the clean run. */
  step: string;
  attempts: AttemptRecord[];
  /** Verdict of the boot model on the final device. */
  finalVerdict: BootVerdict | 'not-reached';
  /** verify() on the final device, through a fresh session. */
  finalVerified: boolean;
  problems: string[];
}

export interface SweepResult {
  chip: ChipName;
  strategy: string;
  cleanOperations: number;
  cases: SweepCase[];
  durationMs: number;
}

/** Reads the tool's advice from a failed result: its typed `recovery` (issue 14), so rule 4 holds
 *  that advice to account; 'none' on a failure is followed by a plain re-run. */
export function advisedAction(result: ProvisionResult): OperatorAction {
  return result.recovery === 'recover-then-rerun' ? 'recover+rerun' : 'rerun';
}

function describeOperation(op: SimOperation | undefined): string {
  if (!op) return '?';
  const hex = (n: number): string => `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
  const parts: string[] = [op.method];
  if (op.core !== 'application') parts.push(`[${op.core}]`);
  if (op.address !== undefined) parts.push(hex(op.address));
  if (op.length !== undefined) parts.push(`len ${op.length}`);
  if (op.nvmc) parts.push('nvmc');
  if (op.apIndex !== undefined) parts.push(`AP${op.apIndex} reg ${hex(op.register ?? 0)}`);
  return parts.join(' ');
}

/** The step each operation index of a clean run belongs to, from the run's step reports. */
function stepsByOperation(result: ProvisionResult): string[] {
  const names: string[] = [];
  for (const step of result.steps) for (let i = 0; i < step.operations; i++) names.push(step.name);
  return names;
}

function options(device: SimulatedDevice, strategy: Strategy, seed: string): ProvisionOptions {
  return {
    random: seededRandom(seed),
    // As the CLI does for --sim: TF-M's first boot on a copy of the device is the last check.
    bootModel: (request) => device.clone().bootTfm(request),
    ...strategy.options(device),
  };
}

async function openSession(binding: SimBinding): Promise<ProbeSession> {
  return binding.open(SERIAL);
}

/** A pristine device for the sweep: fixed device ID, so every case starts from the same bytes. */
export function pristineDevice(chip: ChipName): SimulatedDevice {
  return SimulatedDevice.create({ chip, deviceId: chip === 'nrf5340' ? '5340000000c0ffee' : '9160000000c0ffee' });
}

export interface CleanRun {
  operations: SimOperation[];
  steps: string[];
  result: ProvisionResult;
}

export async function cleanRun(chip: ChipName, strategy: Strategy): Promise<CleanRun> {
  const device = pristineDevice(chip);
  const binding = new SimBinding({ latencyMs: 0 });
  binding.attach(SERIAL, device);
  const session = await openSession(binding);
  try {
    const result = await (strategy.provision ?? provision)(session, options(device, strategy, 'sweep-clean'));
    if (!result.ok) throw new Error(`the clean ${chip} run failed: ${result.errorCode} ${result.error?.message}`);
    return { operations: [...binding.operations(SERIAL)], steps: stepsByOperation(result), result };
  } finally {
    await session.close();
  }
}

export async function runFaultCase(
  chip: ChipName,
  strategy: Strategy,
  profile: FaultProfile,
  k: number,
  clean: CleanRun,
  pristine: SimulatedDevice,
  maxAttempts = 4,
): Promise<SweepCase> {
  const device = pristine.clone();
  const binding = new SimBinding({ latencyMs: 0 });
  binding.attach(SERIAL, device);
  binding.injectFault(SERIAL, { ...profile.fault, atOperation: k });
  const record: SweepCase = {
    chip,
    strategy: strategy.name,
    kind: profile.name,
    k,
    operation: describeOperation(clean.operations[k]),
    step: clean.steps[k] ?? '?',
    attempts: [],
    finalVerdict: 'not-reached',
    finalVerified: false,
    problems: [],
  };
  let before: AttemptRecord['before'] = 'none';
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    // Time passes while the operator reads the message and re-plugs: whatever firmware the chip
    // runs (say, a provisioning image left in flash that booted after a power loss) runs to its end.
    if (attempt > 0) device.runUntilIdle();
    const session = await openSession(binding);
    try {
      if (before === 'recover+rerun') {
        try {
          await recoverDevice(session, 'all');
        } catch (error) {
          record.problems.push(`recover failed: ${(error as { code?: string }).code ?? String(error)}`);
          return record;
        }
      }
      const dumpBefore = device.dump({ withFlash: true });
      let result: ProvisionResult;
      try {
        result = await (strategy.provision ?? provision)(session, options(device, strategy, `sweep-${chip}-${profile.name}-${k}-${attempt}`));
      } catch (error) {
        // provision() resolves for every outcome; a throw is a contract break.
        record.problems.push(`provision() threw ${(error as { code?: string }).code ?? ''} ${(error as Error).message ?? String(error)}`);
        return record;
      }
      const entry: AttemptRecord = { before, ok: result.ok, outcome: result.outcome, errorCode: result.ok ? undefined : result.errorCode, afterWrite: result.afterWrite };
      record.attempts.push(entry);
      if (result.ok) {
        if (result.outcome !== 'provisioned' && result.outcome !== 'alreadyProvisioned') {
          record.problems.push(`ok with outcome ${result.outcome}`);
        }
        const reported: ProvisionResultFields = result;
        const boot = await classifyBoot(device, { identityPublicKey: reported.identityPublicKey?.hex, instanceId: reported.instanceId });
        entry.verdict = boot.verdict;
        if (boot.verdict !== 'boots') record.problems.push(`reported ok (${result.outcome}) but the boot model says ${boot.verdict}: ${boot.reason}`);
        break;
      }
      if (!isErrorCode(result.errorCode)) record.problems.push(`failure without a stable error code (${String(result.errorCode)})`);
      if (!result.afterWrite) {
        const changed = !device.equalsDump(dumpBefore);
        if (changed) record.problems.push(`${result.errorCode} says nothing was written (afterWrite false) but the device changed`);
      }
      entry.advice = advisedAction(result);
      before = entry.advice;
    } finally {
      await session.close();
    }
  }
  const last = record.attempts[record.attempts.length - 1];
  if (!last?.ok) {
    record.problems.push(`not provisioned after ${record.attempts.length} attempts (last: ${last?.errorCode ?? 'none'})`);
    return record;
  }
  device.runUntilIdle();
  const session = await openSession(binding);
  try {
    const verification = await verify(session, { bootModel: (request) => device.clone().bootTfm(request) });
    record.finalVerified = verification.ok;
    if (!verification.ok) record.problems.push(`final verify failed: ${verification.errorCode}`);
  } finally {
    await session.close();
  }
  record.finalVerdict = (await classifyBoot(device)).verdict;
  if (record.finalVerdict !== 'boots') record.problems.push(`final device: boot model says ${record.finalVerdict}`);
  return record;
}

export interface SweepOptions {
  profiles?: FaultProfile[];
  /** Which operation indexes to fault (default: all of the clean run). */
  only?: (k: number) => boolean;
}

export async function runSweep(chip: ChipName, strategy: Strategy, sweep: SweepOptions = {}): Promise<SweepResult> {
  const started = Date.now();
  const clean = await cleanRun(chip, strategy);
  const pristine = pristineDevice(chip);
  const cases: SweepCase[] = [];
  for (const profile of sweep.profiles ?? FAULT_PROFILES) {
    for (let k = 0; k < clean.operations.length; k++) {
      if (sweep.only && !sweep.only(k)) continue;
      cases.push(await runFaultCase(chip, strategy, profile, k, clean, pristine));
    }
  }
  return { chip, strategy: strategy.name, cleanOperations: clean.operations.length, cases, durationMs: Date.now() - started };
}

// ---------------------------------------------------------------- reporting

export interface SweepSummaryRow {
  chip: string;
  strategy: string;
  kind: string;
  cases: number;
  /** Cases whose first run still reported ok (the fault hit something the tool retried or did not need). */
  okFirstRun: number;
  /** Cases that needed only a re-run. */
  rerun: number;
  /** Cases that needed recover + re-run. */
  recovered: number;
  /** Cases that end booting and verified. */
  endBooting: number;
  /** Cases whose problems are all explained by known issues (known-issues.ts). */
  knownIssue: number;
  /** Cases with a problem no known issue explains. */
  problems: number;
  /** First-run error codes and how often. */
  firstErrors: Record<string, number>;
  maxAttempts: number;
}

export function summarise(results: SweepResult[], unexplained: (c: SweepCase) => string[] = (c) => c.problems): SweepSummaryRow[] {
  const rows: SweepSummaryRow[] = [];
  for (const r of results) {
    for (const kind of FAULT_KINDS) {
      const cases = r.cases.filter((c) => c.kind === kind);
      if (cases.length === 0) continue;
      const firstErrors: Record<string, number> = {};
      for (const c of cases) {
        const first = c.attempts[0];
        if (first && !first.ok) firstErrors[first.errorCode ?? '?'] = (firstErrors[first.errorCode ?? '?'] ?? 0) + 1;
      }
      rows.push({
        chip: r.chip,
        strategy: r.strategy,
        kind,
        cases: cases.length,
        okFirstRun: cases.filter((c) => c.attempts[0]?.ok).length,
        rerun: cases.filter((c) => c.attempts.length > 1 && c.attempts.every((a) => a.before !== 'recover+rerun')).length,
        recovered: cases.filter((c) => c.attempts.some((a) => a.before === 'recover+rerun')).length,
        endBooting: cases.filter((c) => c.finalVerdict === 'boots' && c.finalVerified).length,
        knownIssue: cases.filter((c) => c.problems.length > 0 && unexplained(c).length === 0).length,
        problems: cases.filter((c) => unexplained(c).length > 0).length,
        firstErrors,
        maxAttempts: Math.max(0, ...cases.map((c) => c.attempts.length)),
      });
    }
  }
  return rows;
}

export function formatTable(rows: SweepSummaryRow[]): string {
  const header = ['chip', 'strategy', 'fault', 'cases', 'ok 1st run', 're-run', 'recover+re-run', 'end booting', 'known issue', 'new problems', 'max runs', 'first-run error codes'];
  const lines = rows.map((r) => [
    r.chip,
    r.strategy,
    r.kind,
    String(r.cases),
    String(r.okFirstRun),
    String(r.rerun),
    String(r.recovered),
    String(r.endBooting),
    String(r.knownIssue),
    String(r.problems),
    String(r.maxAttempts),
    Object.entries(r.firstErrors)
      .sort((a, b) => b[1] - a[1])
      .map(([code, n]) => `${code} ${n}`)
      .join(', '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}

/**
 * The image strategy (issue 6): the simulator's model of the stock provisioning image does the
 * work on the chip; the host programs it, runs it on the virtual clock, watches it through RTT and
 * removes it. The synthetic image carries the sample's strings, which is what makes the simulated
 * chip run the model.
 */
export function imageStrategy(chip: ChipName): Strategy {
  const hex = syntheticImageHex({ chip, kind: 'provisioning' });
  return {
    name: 'image',
    options: (device) => ({
      strategy: 'image',
      image: { hex, name: `synthetic ${chip} provisioning image` },
      // The device's virtual clock: waiting for the image lets its model run, nothing sleeps.
      clock: { now: () => device.virtualTimeUs / 1000, sleep: async (ms: number) => device.runFor(ms * 1000) },
    }),
  };
}

/** The strategies the sweep knows, by name; undefined when one is not available in this build. */
export async function strategyByName(name: string, chip: ChipName): Promise<Strategy | undefined> {
  if (name === 'host') return HOST_STRATEGY;
  if (name === 'image') return imageStrategy(chip);
  return undefined;
}
