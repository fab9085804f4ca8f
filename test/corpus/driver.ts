/**
 * Runs corpus cases against the built CLI as a user would: a separate `node dist/cli/main.js`
 * process, its exit code, stdout and stderr. The device (when a case has one) is a simulator state
 * file; its chip-off dump is taken before and after, so a refusal that claims "nothing written"
 * is held to it byte for byte.
 */
import { spawn } from 'node:child_process';
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ERROR_CODES, type ErrorCode, isErrorCode } from '../../lib/errors';
import { EXIT } from '../../lib/exit-codes';
import { getTarget, type Target } from '../../lib/targets';
import type { CorpusCase, FileSpec } from './case-format';
import { corruptHex, corruptJson, corruptRecords, intelHex, provisioningImageBytes, recordChain } from './generators';
import { createSimDevice, dumpSimDevice } from './sim-device';

export const ROOT = path.resolve(__dirname, '../..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
export const CASES_DIR = path.join(__dirname, 'cases');

export function loadCases(dir = CASES_DIR): CorpusCase[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const parsed = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CorpusCase;
      return { ...parsed, file: f };
    });
}

/** Reasons a case file is malformed (the corpus checks itself before trusting its verdicts). */
export function caseProblems(c: CorpusCase): string[] {
  const problems: string[] = [];
  if (typeof c.name !== 'string' || c.name.length === 0) problems.push('no name');
  if (!Array.isArray(c.argv) || c.argv.length === 0 || c.argv.some((a) => typeof a !== 'string')) problems.push('argv must be a non-empty string array');
  if (!isErrorCode(c.expectedCode)) problems.push(`expectedCode ${String(c.expectedCode)} is not in ERROR_CODES`);
  if (typeof c.refusedBeforeWriting !== 'boolean') problems.push('refusedBeforeWriting must be true or false');
  if (c.refusedBeforeWriting && c.argv.some((a) => a.includes('{sim}')) && !c.device) problems.push('a refusal on {sim} needs a device');
  if (c.exit !== undefined && (!Number.isInteger(c.exit) || c.exit === 0)) problems.push('exit must be a non-zero integer');
  return problems;
}

/**
 * The exit code the CLI documents for an error code (lib/exit-codes.ts, README), nothing written.
 * Deliberately a second, independent copy of the table rather than a call to exitCodeFor: the corpus
 * is the oracle for the CLI's exit codes, and an oracle that reused the code under test would agree
 * with any mistake in it (e.g. a category mapped to the wrong code). Keep it in step with the docs.
 */
export function documentedExit(code: ErrorCode, afterWrite: boolean, command?: string): number {
  if (afterWrite) return EXIT.FAILED_AFTER_WRITE;
  // README: the vendor library lacking a function before any write is an environment problem (5).
  if (code === 'NOT_IMPLEMENTED') return EXIT.ENVIRONMENT;
  // README: `verify` writes nothing; a device it does not verify exits 3, never 4.
  if (command === 'verify' && (ERROR_CODES[code] === 'device' || ERROR_CODES[code] === 'refused')) return EXIT.REFUSED;
  switch (ERROR_CODES[code]) {
    case 'usage':
      return EXIT.USAGE;
    case 'refused':
      return EXIT.REFUSED;
    case 'environment':
      return EXIT.ENVIRONMENT;
    case 'device':
      return EXIT.FAILED_AFTER_WRITE;
    default:
      return EXIT.INTERNAL;
  }
}

/** Resolves "lifecycle.provisioning+0x4", "application.flash.size-0x8" or "0x00FF8100" against a target. */
export function resolveAddress(target: Target, spec: string): number {
  const match = /^([^+-]+)(?:([+-])(0x[0-9a-f]+))?$/i.exec(spec);
  if (!match) throw new Error(`corpus: cannot read the address "${spec}"`);
  const [, base, sign, offset] = match;
  let value: number;
  if (/^(0x)?[0-9a-f]+$/i.test(base)) value = parseInt(base, 16);
  else {
    let node: unknown = target;
    for (const part of base.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
    if (typeof node !== 'number') throw new Error(`corpus: "${spec}" is not an address of ${target.name}`);
    value = node;
  }
  const delta = offset ? parseInt(offset, 16) : 0;
  return (sign === '-' ? value - delta : value + delta) >>> 0;
}

async function writeFileSpec(file: string, spec: FileSpec, dir: string): Promise<void> {
  let content: string;
  if ('text' in spec) content = spec.text;
  else if ('hex' in spec) {
    const target = getTarget(spec.chip ?? 'nrf5340');
    content = intelHex(
      spec.hex.map((s) => ({
        address: resolveAddress(target, s.address),
        data:
          s.provisioningImage !== undefined
            ? provisioningImageBytes(s.provisioningImage)
            : new Uint8Array(s.length ?? 16).fill(parseInt(s.fill ?? '5a', 16)),
      })),
    );
    if (spec.corrupt) content = corruptHex(content, spec.corrupt);
  } else if ('records' in spec) {
    const lines = recordChain(spec.records);
    content = spec.corrupt ? corruptRecords(lines, spec.corrupt) : `${lines.join('\n')}\n`;
  } else {
    const statePath = path.join(dir, `.${file}.source.json`);
    await createSimDevice(statePath, spec.simState);
    content = corruptJson(await fsp.readFile(statePath, 'utf8'), spec.corrupt);
  }
  await fsp.writeFile(path.join(dir, file), content, 'latin1');
}

export function substitute(arg: string, context: { dir: string; sim: string; brokenLibrary: (kind: string) => string }): string {
  return arg
    .replace(/\{sim\}/g, context.sim)
    .replace(/\{dir\}/g, context.dir)
    .replace(/\{file:([^}]+)\}/g, (_m, name: string) => path.join(context.dir, name))
    .replace(/\{brokenLibrary:([^}]+)\}/g, (_m, kind: string) => context.brokenLibrary(kind))
    .replace(/\{repeat:([^:}]*):(\d+)\}/g, (_m, text: string, n: string) => text.repeat(Number(n)));
}

export interface CaseRun {
  case: CorpusCase;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  dumpBefore?: string;
  dumpAfter?: string;
  /** Set when the driver itself failed to prepare or run the case. */
  driverError?: string;
  ms: number;
}

function brokenLibraryPath(kind: string): string {
  // The fake vendor library helpers belong to the native-backend work; loaded lazily so the corpus
  // does not need them unless a case asks for a broken library.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const fake = require(path.join(ROOT, 'test', 'support', 'fake-vendor')) as { brokenLibraryPath(kind: string): string };
  return fake.brokenLibraryPath(kind);
}

export async function runCase(c: CorpusCase, scratch: string, env: NodeJS.ProcessEnv): Promise<CaseRun> {
  const started = Date.now();
  const dir = path.join(scratch, (c.file ?? c.name).replace(/\.json$/, '').replace(/[^a-z0-9-]+/gi, '_'));
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.mkdir(dir, { recursive: true });
  const sim = path.join(dir, c.device?.file ?? 'device.json');
  const run: CaseRun = { case: c, exitCode: null, signal: null, stdout: '', stderr: '', ms: 0 };
  let argv: string[];
  try {
    if (c.device) {
      await fsp.mkdir(path.dirname(sim), { recursive: true });
      await createSimDevice(sim, c.device);
      run.dumpBefore = await dumpSimDevice(sim);
    }
    for (const [name, spec] of Object.entries(c.files ?? {})) await writeFileSpec(name, spec, dir);
    argv = c.argv.map((a) => substitute(a, { dir, sim, brokenLibrary: brokenLibraryPath }));
  } catch (error) {
    run.driverError = `setup failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`;
    run.ms = Date.now() - started;
    return run;
  }
  await new Promise<void>((resolve) => {
    // Each case has its own lock directory: cases run two at a time, and several name the same probe
    // serial (123456789), so a shared directory made one case fail PROBE_BUSY while the other ran.
    const caseEnv = { ...env, TFM_PROVISION_LOCK_DIR: path.join(dir, 'locks') };
    const child = spawn(process.execPath, [CLI, ...argv], { cwd: dir, env: caseEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (run.stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (run.stderr += d));
    child.on('error', (error) => {
      run.driverError = `spawn failed: ${error.message}`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      run.exitCode = code;
      run.signal = signal;
      resolve();
    });
  });
  if (c.device) {
    try {
      run.dumpAfter = await dumpSimDevice(sim);
    } catch (error) {
      run.dumpAfter = `<could not load the device after the run: ${(error as Error).message}>`;
    }
  }
  run.ms = Date.now() - started;
  return run;
}

/** Runs all cases, `parallel` processes at a time. */
export async function runCases(cases: CorpusCase[], scratch: string, env: NodeJS.ProcessEnv, parallel: number): Promise<Map<CorpusCase, CaseRun>> {
  const results = new Map<CorpusCase, CaseRun>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const c = cases[next++];
      results.set(c, await runCase(c, scratch, env));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, worker));
  return results;
}

/** The error codes a run reported: `error CODE:` on stderr, or "errorCode"/"code" in JSON lines. */
export function reportedCodes(run: CaseRun): string[] {
  const codes = new Set<string>();
  const text = `${run.stderr}\n${run.stdout}`;
  for (const m of text.matchAll(/\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|USAGE)\b/g)) if (isErrorCode(m[1])) codes.add(m[1]);
  return [...codes];
}

/** Lines that look like a JavaScript stack frame: what a user must never see (also a stack
 *  serialised into a JSON string, where the line breaks are escaped). */
export function stackTraceLines(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => /^\s+at\s+\S/.test(line) || /^\s*(?:TypeError|ReferenceError|RangeError|SyntaxError):/.test(line) || /\\n\s+at\s+\S/.test(line));
}
