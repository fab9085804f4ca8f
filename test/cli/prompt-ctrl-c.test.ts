/**
 * Ctrl-C at the typed confirmation prompt, as an operator meets it (issue 14, "Ctrl-C at the typed
 * confirmation prompt is ignored; the second one kills without exit 130"): the CLI runs in a child
 * process on a pseudo-terminal (util-linux `script`), so the prompt is asked, and Ctrl-C is the
 * ETX byte typed on that terminal, which the terminal's line discipline turns into SIGINT for the
 * foreground process group, as a keyboard does. The probe is the fake nrfjprog library without its
 * marker (the CLI takes it for real, so it asks).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fakeNrfjprog } from '../support/fake-vendor';
import { CLI, ensureBuilt } from './support/cli';
import { unmarkedFakeLibrary } from './support/unmarked-fake';

const SERIAL = 1050123456;
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const onTerminal = hasScript && process.platform === 'linux' ? describe : describe.skip;
if (!onTerminal) console.warn('SKIPPED: util-linux script(1) is not installed, so there is no pseudo-terminal to type Ctrl-C on');

let dir: string;
beforeAll(() => ensureBuilt());
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-prompt-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs provision on a pseudo-terminal; types `keys` once the question is on screen. */
function provisionOnTerminal(keys: string[]): Promise<{ code: number | null; output: string; writes: string[] }> {
  const fake = fakeNrfjprog({ probes: [{ serialNumber: SERIAL }], trace: true });
  const records = path.join(dir, 'records.jsonl');
  const argv = [process.execPath, CLI, 'provision', '--snr', String(SERIAL), '--backend', 'nrfjprog', '--library', unmarkedFakeLibrary(), '--allow-model-wrapper', '--records', records];
  const command = argv.map((a) => `'${a.replace(/'/gu, "'\\''")}'`).join(' ');
  // -e: script exits with the child's code; -q: no banner; -f: flush as it comes.
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: dir,
    env: { ...process.env, FAKE_NRFJPROG_CONFIG: fake.configPath, TFM_PROVISION_LOCK_DIR: path.join(dir, 'locks'), TERM: 'dumb' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let typed = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no exit after Ctrl-C; output so far: ${output.slice(-400)}`));
    }, 30_000);
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (!typed && output.includes('to continue: ')) {
        typed = true;
        // One key at a time, as a person types, with time for the signal to be handled in between.
        keys.forEach((key, i) => setTimeout(() => child.stdin.write(key), 200 * (i + 1)));
      }
    });
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      const writes = fake.readTrace().map((t) => `${t.function} ${t.args.join(' ')}`).filter((l) => /write|erase|recover/u.test(l) && !/^NRFJPROG_write_u32_inst 0x5(0039500|0005614) /u.test(l));
      resolve({ code, output, writes });
    });
  });
}

onTerminal('Ctrl-C at the typed confirmation prompt, on a terminal', () => {
  it('exits 130 with INTERRUPTED, nothing written, the attempt recorded as not written', async () => {
    const run = await provisionOnTerminal(['\x03']);
    expect(run.output).toContain('About to provision nRF5340');
    expect(run.code).toBe(130);
    expect(run.output).toContain('INTERRUPTED');
    expect(run.output).not.toMatch(/\n\s+at /u);
    expect(run.writes).toEqual([]);
    const records = fs.readFileSync(path.join(dir, 'records.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; wroteDevice?: boolean });
    expect(records.map((r) => r.type)).toEqual(['result']);
    expect(records[0]!.wroteDevice).toBe(false);
  });

  it('a second Ctrl-C still ends in exit 130, not a death by the signal', async () => {
    const run = await provisionOnTerminal(['\x03', '\x03']);
    expect(run.code).toBe(130);
    expect(run.writes).toEqual([]);
  });
});
