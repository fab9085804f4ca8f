/**
 * `tfm-provision provision`, in process: the attempt's records (intent before the first write,
 * result after, as the station writes them), and the live task list on a terminal, which must keep
 * the sample's five lines in order and never reach --json output.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../lib/cli/program';
import { SAMPLE_MESSAGES } from '../../lib/provision/events';
import { verifyRecordFile } from '../../lib/records';
import { captureIo } from '../cli/support/io';

const FIVE_LINES = Object.values(SAMPLE_MESSAGES);

/** The CLI's streams in memory, run from `cwd` with an empty environment; stdout a terminal when `tty`. */
function capture(cwd: string, options: { tty?: boolean } = {}) {
  const c = captureIo({ cwd, env: { TFM_PROVISION_STATION_KEY: process.env.TFM_PROVISION_STATION_KEY }, stdoutTTY: options.tty });
  return { io: c.io, out: c.stdout, err: c.stderr };
}

const records = (file: string): Array<Record<string, any>> =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

/** What a terminal shows at the end: escape sequences applied (cursor up + clear), then stripped. */
function screen(raw: string): string[] {
  const lines: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; ) {
    const esc = /^\x1b\[(\d*)([A-Za-z])/.exec(raw.slice(i));
    if (esc) {
      if (esc[2] === 'A') lines.splice(lines.length - Number(esc[1] || 1)); // up n lines, then \x1b[0J clears below
      i += esc[0].length;
      continue;
    }
    if (raw[i] === '\n') {
      lines.push(current);
      current = '';
    } else current += raw[i];
    i++;
  }
  if (current) lines.push(current);
  return lines;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tfm-provision-records-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('provision records', () => {
  it('writes an intent before the first write and a result after, tied by the attempt, in a valid chain', async () => {
    const file = path.join(dir, 'r.jsonl');
    const c = capture(dir);
    expect(await runCli(['provision', '--sim', '--chip', 'nrf9160', '--json', '--records', file], c.io)).toBe(0);
    const [intent, result] = records(file);
    expect(intent).toMatchObject({ type: 'intent', chip: 'nrf9160', lifecycleBefore: 'ASSEMBLY', simulated: true, backend: 'sim', strategy: 'host' });
    expect(intent.plannedSteps).toEqual(expect.arrayContaining(['lifecycle', 'mkek', 'mext', 'identityKey']));
    expect(result).toMatchObject({ type: 'result', attempt: intent.attempt, outcome: 'provisioned', verified: true, wroteDevice: true, lifecycleAfter: 'PROVISIONING' });
    const line = JSON.parse(c.out().trim().split('\n').pop()!);
    expect(line).toMatchObject({ type: 'result', records: file, deviceId: intent.deviceId });
    expect(result.identityPublicKey).toBe(line.identityPublicKey);
    expect(intent.identityPublicKey).toBe(line.identityPublicKey);
    expect((await verifyRecordFile(file)).ok).toBe(true);
  });

  it('defaults to ./tfm-provision-records.jsonl; a refusal and a dry run get a result record only; --no-records writes none', async () => {
    const state = path.join(dir, 'dev.json');
    expect(await runCli(['sim', 'create', state, '--chip', 'nrf5340', '--state', 'provisioning'], capture(dir).io)).toBe(0);
    expect(await runCli(['provision', '--sim', state], capture(dir).io)).toBe(3);
    expect(await runCli(['provision', '--sim', '--dry-run'], capture(dir).io)).toBe(0);
    const file = path.join(dir, 'tfm-provision-records.jsonl');
    expect(records(file).map((r) => [r.type, r.outcome, r.errorCode ?? null, r.wroteDevice])).toEqual([
      ['result', 'refused', 'PARTIALLY_PROVISIONED', false],
      ['result', 'dryRun', null, false],
    ]);
    rmSync(file);
    const c = capture(dir);
    expect(await runCli(['provision', '--sim', '--no-records', '--json'], c.io)).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect(JSON.parse(c.out().trim().split('\n').pop()!)).toMatchObject({ ok: true, records: null });
  });

  it('an attempt that fails before the device answers is recorded too; a usage error is not', async () => {
    const file = path.join(dir, 'r.jsonl');
    const broken = path.join(dir, 'broken.json');
    require('node:fs').writeFileSync(broken, '{ not json');
    expect(await runCli(['provision', '--sim', broken, '--records', file], capture(dir).io)).toBe(2);
    expect(records(file)).toEqual([expect.objectContaining({ type: 'result', outcome: 'refused', errorCode: 'SIM_STATE_INVALID', wroteDevice: false })]);
    expect(await runCli(['provision', '--records', file], capture(dir).io)).toBe(2);
    expect(records(file)).toHaveLength(1);
  });
});

describe('provision progress on a terminal', () => {
  it('shows a live task list, with the sample\'s five lines above it in order, then the summary', async () => {
    const c = capture(dir, { tty: true });
    expect(await runCli(['provision', '--sim', '--no-records'], c.io)).toBe(0);
    expect(c.out()).toContain('\x1b['); // redrawn in place
    const shown = screen(c.out());
    expect(shown.filter((l) => FIVE_LINES.includes(l as never))).toEqual(FIVE_LINES);
    const tasks = shown.filter((l) => /^\s+\[.\] /.test(l));
    expect(tasks.map((l) => /\[(.)\] (\w+)/.exec(l)!.slice(1).join(' '))).toEqual(
      ['preflight', 'generateKeys', 'lifecycle', 'mkek', 'mext', 'identityKey', 'implementationId', 'networkCore', 'verify'].map((s) => `+ ${s}`),
    );
    expect(shown.some((l) => /^simulated nRF5340\s+PASS/.test(l))).toBe(true);
    expect(shown.findIndex((l) => /^Provisioned and verified/.test(l))).toBeGreaterThan(shown.findIndex((l) => /\[\+\] verify/.test(l)));
  });

  it('prints plain lines when stdout is not a terminal, and pure JSON Lines with --json even on one', async () => {
    const plain = capture(dir);
    expect(await runCli(['provision', '--sim', '--no-records'], plain.io)).toBe(0);
    expect(plain.out()).not.toContain('\x1b[');
    expect(plain.out().split('\n').slice(0, 5)).toEqual(FIVE_LINES);
    const json = capture(dir, { tty: true });
    expect(await runCli(['provision', '--sim', '--no-records', '--json'], json.io)).toBe(0);
    const lines = json.out().trim().split('\n');
    expect(lines.every((l) => typeof JSON.parse(l).type === 'string')).toBe(true);
    expect(lines.map((l) => JSON.parse(l)).filter((l) => l.type === 'message').map((l) => l.text)).toEqual(FIVE_LINES);
  });
});
