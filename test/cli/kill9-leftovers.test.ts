/**
 * kill -9 at points spread over a run (issue 14): whatever it interrupts (the station key, the
 * record lock and its temporary file, an append, the state file's atomic save), the next run
 * leaves no temporary or lock file behind, and the records still form an intact chain.
 * `node dist/cli/main.js` as a user runs it (npm test's pretest builds dist/).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');
let dir: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-kill9-'));
  env = { ...process.env, TFM_PROVISION_STATION_KEY: path.join(dir, 'keys', 'station-key.pem'), TFM_PROVISION_LOCK_DIR: path.join(dir, 'locks') };
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A seed per run: a killed run may not have saved its device, and one seed on two devices is one key on two devices. */
function args(trial: number, again = false): string[] {
  return ['provision', '--sim', `dev${trial}.json`, '--seed', `kill-${trial}${again ? '-again' : ''}`, '--records', 'r.jsonl', '--json'];
}

/** Starts a run and SIGKILLs it once it has printed `events` JSON lines (0: right after start). */
function killAfter(trial: number, events: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args(trial)], { cwd: dir, env, stdio: ['ignore', 'pipe', 'ignore'] });
    let seen = 0;
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    if (events === 0) setImmediate(kill);
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString().split('\n').length - 1;
      if (seen >= events && events > 0) kill();
    });
    child.on('exit', () => resolve());
  });
}

const leftovers = (): string[] =>
  [dir, path.join(dir, 'keys'), path.join(dir, 'locks')]
    .filter((d) => fs.existsSync(d))
    .flatMap((d) => fs.readdirSync(d).filter((n) => n.endsWith('.tmp') || n.includes('.lock') || n.endsWith('.takeover')).map((n) => path.join(path.basename(d), n)));

describe('kill -9 at any point', () => {
  it('the next run removes what a killed run left (temporary and lock files) and the chain stays intact', async () => {
    // Points spread from process start to the end of the run (a run prints ~40 event lines).
    const points = [0, 1, 3, 6, 10, 15, 20, 26, 33, 40];
    for (const [trial, events] of points.entries()) {
      await killAfter(trial, events);
      // The next run on the same files (the device may be half provisioned: it is refused then).
      const next = spawnSync(process.execPath, [MAIN, ...args(trial, true)], { cwd: dir, env, encoding: 'utf8' });
      expect([0, 3, 4]).toContain(next.status);
      expect(leftovers()).toEqual([]);
    }
    const verify = spawnSync(process.execPath, [MAIN, 'records', 'verify', 'r.jsonl'], { cwd: dir, env, encoding: 'utf8' });
    expect(verify.stderr).not.toContain('error');
    expect(verify.status).toBe(0);
  });

  it('stale temporary and lock files of a dead PID (what SIGKILL leaves) are removed by the next start', () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const stale = [
      `r.jsonl.lock.${dead}.0123456789abcdef.tmp`,
      `r.jsonl.lock.takeover.${dead}.0123456789abcdef.tmp`,
      `dev0.json.${dead}.a1b2c3d4e5f6.tmp`,
    ];
    for (const name of stale) fs.writeFileSync(path.join(dir, name), '');
    fs.writeFileSync(path.join(dir, 'r.jsonl.lock'), JSON.stringify({ pid: dead, hostname: os.hostname(), acquiredAt: '', token: 'dead' }));
    // Someone else's file that only looks similar stays.
    fs.writeFileSync(path.join(dir, 'r.jsonl.notes.tmp'), 'mine');
    const next = spawnSync(process.execPath, [MAIN, ...args(0)], { cwd: dir, env, encoding: 'utf8' });
    expect(next.status).toBe(0);
    expect(leftovers()).toEqual([`${path.basename(dir)}/r.jsonl.notes.tmp`]);
    expect(fs.readFileSync(path.join(dir, 'r.jsonl.notes.tmp'), 'utf8')).toBe('mine');
  });
});
