import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireProbeLock, probeLockPath } from '../../lib/station/probe-lock';
import { TfmError } from '../../lib/errors';
import { rejection } from '../support/rejection';

const root = path.resolve(__dirname, '../..');
let lockDir: string;
let env: NodeJS.ProcessEnv;
const children: ChildProcess[] = [];

beforeEach(async () => {
  lockDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tfm-locks-'));
  env = { ...process.env, TFM_PROVISION_LOCK_DIR: lockDir };
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await fsp.rm(lockDir, { recursive: true, force: true });
});

const busyError = (promise: Promise<unknown>): Promise<TfmError> => rejection(promise, 'PROBE_BUSY');

/** A second process that takes the lock through the built package and holds it until killed. */
function holdInChild(serial: number): Promise<ChildProcess> {
  const script = `
    const { acquireProbeLock } = require(${JSON.stringify(path.join(root, 'dist/station/probe-lock.js'))});
    acquireProbeLock(${serial}, { backend: 'sim', purpose: 'test holder' }).then(
      () => { process.stdout.write('held\\n'); setInterval(() => {}, 1000); },
      (e) => { process.stdout.write('error ' + e.code + '\\n'); process.exit(3); });`;
  const child = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => (d.toString().includes('held') ? resolve(child) : reject(new Error(d.toString()))));
    child.on('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
}

describe('probe lock', () => {
  beforeAll(() => {
    // The child process loads the compiled module; build it if this test runs without `npm test`.
    spawnSync('npx', ['--no-install', 'tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'ignore' });
  });

  it('refuses a second holder in the same process with PROBE_BUSY naming this PID', async () => {
    const lock = await acquireProbeLock(42, { backend: 'sim', purpose: 'provision', env });
    const error = await busyError(acquireProbeLock(42, { backend: 'sim', env }));
    expect(error.code).toBe('PROBE_BUSY');
    expect(error.message).toContain(`process ${process.pid}`);
    expect(error.details).toMatchObject({ holderPid: process.pid, serialNumber: 42 });
    // Another probe, and the same serial on a real backend, are separate locks.
    const other = await acquireProbeLock(43, { backend: 'sim', env });
    const real = await acquireProbeLock(42, { backend: 'nrfjprog', env });
    await Promise.all([lock.release(), other.release(), real.release()]);
    const again = await acquireProbeLock(42, { backend: 'sim', env });
    await again.release();
  });

  it('gives a second process PROBE_BUSY with the holder PID, and takes the lock over once the holder is killed', async () => {
    const holder = await holdInChild(777);
    const error = await busyError(acquireProbeLock(777, { backend: 'sim', env }));
    expect(error.code).toBe('PROBE_BUSY');
    expect(error.details?.holderPid).toBe(holder.pid);
    expect(error.message).toContain(`process ${holder.pid}`);
    expect(error.message).toContain('test holder');

    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL'); // no exit hook runs: the lock file stays behind with a dead PID
    await exited;
    await expect(fsp.stat(probeLockPath(777, 'sim', env))).resolves.toBeDefined();
    const lock = await acquireProbeLock(777, { backend: 'sim', env });
    const content = JSON.parse(await fsp.readFile(lock.path, 'utf8')) as { pid: number };
    expect(content.pid).toBe(process.pid);
    await lock.release();
    await expect(fsp.stat(lock.path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('lets exactly one of several racing takers win a stale lock', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const lockPath = probeLockPath(9, 'sim', env);
    await fsp.mkdir(path.dirname(lockPath), { recursive: true });
    await fsp.writeFile(lockPath, JSON.stringify({ pid: dead, hostname: os.hostname(), acquiredAt: '', token: 'dead' }));
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => acquireProbeLock(9, { backend: 'sim', env })));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as TfmError).code).toBe('PROBE_BUSY');
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
  });
});
