/**
 * One process per probe: a lock file per probe serial number, host-wide, naming the holder's PID.
 * A second process gets PROBE_BUSY with that PID; a lock left by a dead process is taken over.
 *
 * Lock directory: $TFM_PROVISION_LOCK_DIR, else <os tmpdir>/tfm-provision-locks. Real backends
 * (nrfjprog, jlink) share one key per serial because both drive the same physical J-Link; the
 * simulator's serials are a separate namespace so tests never collide with a real probe, scoped
 * further by what the simulated devices are (a state directory): simulated devices that live only
 * in one process's memory are not shared, so the CLI does not lock them at all.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackendName } from '../probe/types';
import { TfmError } from '../errors';
import { type HeldLock, tryAcquireLock } from '../records/lockfile';

export interface ProbeLock {
  readonly serialNumber: number;
  readonly path: string;
  release(): Promise<void>;
}

export interface ProbeLockOptions {
  backend: BackendName;
  /** What the holder is doing, stored in the lock for the busy message (e.g. "provision"). */
  purpose?: string;
  /** Namespace inside the backend, e.g. the state directory of simulated devices (see SimFleet.lockScope). */
  scope?: string;
  env?: NodeJS.ProcessEnv;
}

export function probeLockDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.TFM_PROVISION_LOCK_DIR;
  return configured !== undefined && configured !== '' ? path.resolve(configured) : path.join(os.tmpdir(), 'tfm-provision-locks');
}

export function probeLockPath(serialNumber: number, backend: BackendName, env: NodeJS.ProcessEnv = process.env, scope?: string): string {
  const namespace = backend === 'sim' ? 'sim' : 'jlink';
  const scoped = scope !== undefined && scope !== '' ? `${namespace}-${scope.replace(/[^A-Za-z0-9_.-]/g, '_')}` : namespace;
  return path.join(probeLockDirectory(env), `${scoped}-${serialNumber}.lock`);
}

/** Takes the probe's lock or throws PROBE_BUSY naming the process that holds it. */
export async function acquireProbeLock(serialNumber: number, options: ProbeLockOptions): Promise<ProbeLock> {
  const lockPath = probeLockPath(serialNumber, options.backend, options.env, options.scope);
  let attempt;
  try {
    attempt = await tryAcquireLock(lockPath, options.purpose);
  } catch (error) {
    throw new TfmError('FILE_ERROR', `Cannot create the probe lock ${lockPath}: ${(error as Error).message}`, { cause: error });
  }
  if (!attempt.acquired) {
    const holder = attempt.holder;
    const who = holder !== undefined ? `process ${holder.pid}${holder.hostname !== os.hostname() ? ` on ${holder.hostname}` : ''}` : 'another process';
    const what = holder?.purpose !== undefined ? ` (${holder.purpose}, since ${holder.acquiredAt})` : '';
    throw new TfmError('PROBE_BUSY', `Probe ${serialNumber} is in use by ${who}${what}. Wait for it to finish, or stop it; one process per probe.`, {
      details: { serialNumber, holderPid: holder?.pid, holderHost: holder?.hostname, lockPath },
    });
  }
  const lock: HeldLock = attempt.lock;
  return { serialNumber, path: lock.path, release: () => lock.release() };
}

/**
 * The path a simulator state file is known by for locking: symlinks resolved, so two runs that name
 * one file two ways still contend. A file that does not exist yet is named by its real directory.
 */
function canonicalStatePath(file: string): string {
  const absolute = path.resolve(file);
  try {
    return realpathSync(absolute);
  } catch {
    try {
      return path.join(realpathSync(path.dirname(absolute)), path.basename(absolute));
    } catch {
      return absolute;
    }
  }
}

export function stateFileLockPath(file: string, env: NodeJS.ProcessEnv = process.env): string {
  const digest = createHash('sha256').update(canonicalStatePath(file)).digest('hex').slice(0, 16);
  return path.join(probeLockDirectory(env), `sim-state-${digest}.lock`);
}

/**
 * Takes the lock of a simulator state file (--sim FILE) or throws SIM_STATE_BUSY. Why: the file is
 * the device; two runs on it would each provision their own copy and the last save would win, so
 * both could report "Provisioned and verified" with different identity keys.
 */
export async function acquireStateFileLock(file: string, options: { purpose?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ProbeLock> {
  const lockPath = stateFileLockPath(file, options.env);
  let attempt;
  try {
    attempt = await tryAcquireLock(lockPath, options.purpose);
  } catch (error) {
    throw new TfmError('FILE_ERROR', `Cannot create the lock ${lockPath} for the state file ${file}: ${(error as Error).message}`, { cause: error });
  }
  if (!attempt.acquired) {
    const holder = attempt.holder;
    const who = holder !== undefined ? `process ${holder.pid}${holder.hostname !== os.hostname() ? ` on ${holder.hostname}` : ''}` : 'another process';
    throw new TfmError('SIM_STATE_BUSY', `The simulated device in ${file} is in use by ${who}${holder?.purpose !== undefined ? ` (${holder.purpose})` : ''}. Nothing was done; wait for it to finish. One run per state file.`, {
      details: { stateFile: file, holderPid: holder?.pid, lockPath },
    });
  }
  const lock = attempt.lock;
  return { serialNumber: 0, path: lock.path, release: () => lock.release() };
}
