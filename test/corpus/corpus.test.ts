/**
 * The bad-input corpus (test/corpus/cases/*.json, format in case-format.ts): every hostile command
 * line, corrupted file and unexpected device state must end with its stable error code, a non-zero
 * exit code as documented, no stack trace for the user, and, when refused before writing, a device
 * whose chip-off dump is byte-for-byte what it was before the run.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ErrorCode } from '../../lib/errors';
import type { CorpusCase } from './case-format';
import { CLI, ROOT, type CaseRun, caseProblems, documentedExit, loadCases, reportedCodes, runCases, stackTraceLines } from './driver';

const cases = loadCases();
let scratch: string;
let runs = new Map<CorpusCase, CaseRun>();

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build:ts\` (npm test does it in pretest)`);
  scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'tfm-corpus-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    TFM_PROVISION_LOCK_DIR: path.join(scratch, 'locks'),
    // A user's shell, not a developer's: no --stack-trace-limit or inspector flags inherited.
    NODE_OPTIONS: '',
  };
  runs = await runCases(cases, scratch, env, 2);
  const report = cases.map((c) => {
    const run = runs.get(c)!;
    return { file: c.file, name: c.name, expectedCode: c.expectedCode, reported: reportedCodes(run), exit: run.exitCode, ms: run.ms, ...(c.knownIssue ? { knownIssue: c.knownIssue } : {}) };
  });
  mkdirSync(path.join(ROOT, 'test', '.tmp'), { recursive: true });
  writeFileSync(path.join(ROOT, 'test', '.tmp', 'corpus.json'), `${JSON.stringify({ cases: report.length, runs: report }, null, 2)}\n`);
}, 600_000);

afterAll(async () => {
  if (scratch) await fsp.rm(scratch, { recursive: true, force: true });
});

test('the corpus holds at least 40 well-formed cases with distinct names', () => {
  expect(cases.length).toBeGreaterThanOrEqual(40);
  expect(cases.flatMap((c) => caseProblems(c).map((p) => `${c.file}: ${p}`))).toEqual([]);
  expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
});

describe.each(cases.map((c) => [c.file, c] as const))('%s', (_file, c) => {
  const run = (): CaseRun => {
    const r = runs.get(c);
    if (!r) throw new Error('case did not run');
    if (r.driverError) throw new Error(r.driverError);
    return r;
  };
  const transcript = (r: CaseRun): string => `exit ${r.exitCode}\n--- stderr\n${r.stderr}\n--- stdout\n${r.stdout.slice(-2000)}`;

  // A known defect runs as test.failing: it stays green while the defect is there and turns red
  // (so the marker gets removed) once it is fixed.
  const check = (name: 'code' | 'exit' | 'dump'): typeof test => (c.knownIssue?.checks.includes(name) ? test.failing : test);

  check('code')(`${c.name}: ends with ${c.expectedCode}`, () => {
    const r = run();
    expect({ codes: reportedCodes(r), transcript: transcript(r) }).toEqual(expect.objectContaining({ codes: expect.arrayContaining([c.expectedCode]) }));
    // The named command must exist: a case must not pass because commander rejects an unknown word.
    if (!c.unknownArgument) expect(r.stderr).not.toMatch(/unknown (command|option)/);
  });

  check('exit')('exits non-zero, with the documented exit code, and shows no stack trace', () => {
    const r = run();
    expect(r.signal).toBeNull();
    const expected = c.exit ?? documentedExit(c.expectedCode as ErrorCode, !c.refusedBeforeWriting, c.argv?.[0]);
    expect({ exit: r.exitCode, transcript: transcript(r) }).toEqual({ exit: expected, transcript: transcript(r) });
    expect(stackTraceLines(`${r.stderr}\n${r.stdout}`)).toEqual([]);
    expect(r.stderr).not.toMatch(/internal error/i);
  });

  if (c.refusedBeforeWriting && c.device) {
    check('dump')('leaves the device dump byte-for-byte unchanged', () => {
      const r = run();
      expect(r.dumpBefore).toBeDefined();
      expect(r.dumpAfter === r.dumpBefore ? 'unchanged' : describeDumpDifference(r.dumpBefore!, r.dumpAfter!)).toBe('unchanged');
    });
  }
});

/** The first differing lines of two Intel HEX dumps, for a readable failure. */
function describeDumpDifference(before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const diffs: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && diffs.length < 6; i++) {
    if (a[i] !== b[i]) diffs.push(`line ${i + 1}: ${a[i] ?? '<none>'} -> ${b[i] ?? '<none>'}`);
  }
  return `device changed:\n${diffs.join('\n')}`;
}
