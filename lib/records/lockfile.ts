/**
 * A lock file that names its holder: `{pid, hostname, acquiredAt, purpose, token}`.
 *
 * Why not proper-lockfile: it detects staleness by mtime (a timer refreshing the lock), so a dead
 * holder keeps the lock for its stale period and the file does not say who holds it. Here the
 * holder's PID is in the file, a second process can name it, and a lock whose PID is dead on this
 * host is taken over at once.
 *
 * Creation is atomic with content: the content goes to a private temporary file that is then
 * hard-linked to the lock path (link(2) fails with EEXIST if the lock exists), so nobody ever reads
 * a half-written lock. Taking over a stale lock is guarded by a second, short-lived lock
 * (`<path>.takeover`) so two processes cannot both take over the same dead holder's lock.
 *
 * Limitation (documented): a dead holder whose PID was reused by an unrelated process looks alive;
 * the busy error names that PID, so an operator can check it.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isProcessAlive, removeStaleTemporariesOnce } from '../files';

export interface LockHolder {
  pid: number;
  hostname: string;
  acquiredAt: string;
  purpose?: string;
  token: string;
}

export interface HeldLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock if this process still holds it; idempotent. */
  release(): Promise<void>;
}

export type LockAttempt = { acquired: true; lock: HeldLock } | { acquired: false; holder: LockHolder | undefined };

/** Locks this process holds, removed synchronously if the process exits without releasing them. */
const heldPaths = new Map<string, string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [lockPath, token] of heldPaths) {
      try {
        const holder = parseHolder(fs.readFileSync(lockPath, 'utf8'));
        if (holder?.token === token) fs.unlinkSync(lockPath);
      } catch {
        // already gone: nothing to clean up
      }
    }
  });
}

export { isProcessAlive };

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid !== 'number' || typeof value.token !== 'string' || typeof value.hostname !== 'string') return undefined;
    return value as LockHolder;
  } catch {
    return undefined;
  }
}

/**
 * fs.readFile / fs.writeFile through their callback API: the same open, read or write, close as
 * fs.promises, without a FileHandle and a promise per step (a station takes a probe lock per device
 * and a record lock per append, docs/performance.md).
 */
function readSmallFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => fs.readFile(file, 'utf8', (error, text) => (error ? reject(error) : resolve(text))));
}

/** Creates `file` with `text` (O_EXCL: fails with EEXIST when it exists), mode 0644. */
function writeNewFile(file: string, text: string): Promise<void> {
  return new Promise((resolve, reject) => fs.writeFile(file, text, { mode: 0o644, flag: 'wx' }, (error) => (error ? reject(error) : resolve())));
}

async function readHolder(lockPath: string): Promise<{ exists: boolean; holder?: LockHolder; raw?: string }> {
  try {
    const raw = await readSmallFile(lockPath);
    return { exists: true, holder: parseHolder(raw), raw };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false };
    throw error;
  }
}

/** A holder is stale when it ran on this host and its process is gone, or the file is unreadable. */
function isStale(holder: LockHolder | undefined): boolean {
  if (holder === undefined) return true;
  if (holder.hostname !== os.hostname()) return false; // cannot check a PID on another host
  return !isProcessAlive(holder.pid);
}

function newHolder(purpose: string | undefined): LockHolder {
  return {
    pid: process.pid,
    hostname: os.hostname(),
    acquiredAt: new Date().toISOString(),
    ...(purpose !== undefined ? { purpose } : {}),
    token: randomBytes(8).toString('hex'),
  };
}

async function writePrivate(lockPath: string, holder: LockHolder): Promise<string> {
  const tmp = `${lockPath}.${process.pid}.${holder.token}.tmp`;
  try {
    await writeNewFile(tmp, `${JSON.stringify(holder)}\n`);
  } catch (error) {
    // A full disk fails the write after the create: never leave the empty file behind.
    await fsp.unlink(tmp).catch(() => undefined);
    throw error;
  }
  return tmp;
}

/** Creates `lockPath` with `holder` as content, atomically; false if it already exists. */
async function createExclusive(lockPath: string, holder: LockHolder): Promise<boolean> {
  const tmp = await writePrivate(lockPath, holder);
  try {
    await fsp.link(tmp, lockPath);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await fsp.unlink(tmp).catch(() => undefined);
  }
}

function heldLock(lockPath: string, holder: LockHolder): HeldLock {
  heldPaths.set(lockPath, holder.token);
  installExitHook();
  let released = false;
  return {
    path: lockPath,
    holder,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      heldPaths.delete(lockPath);
      const current = await readHolder(lockPath);
      if (current.holder?.token === holder.token) await fsp.unlink(lockPath).catch(() => undefined);
    },
  };
}

/**
 * One attempt to take the lock. Busy: returns the live holder. A stale holder (dead PID on this
 * host, or unreadable content) is taken over.
 */
export async function tryAcquireLock(lockPath: string, purpose?: string): Promise<LockAttempt> {
  await fsp.mkdir(path.dirname(lockPath), { recursive: true });
  // Temporary files of holders killed before they could remove them (SIGKILL, power loss).
  removeStaleTemporariesOnce(lockPath);
  removeStaleTemporariesOnce(`${lockPath}.takeover`);
  for (let round = 0; round < 5; round++) {
    const holder = newHolder(purpose);
    if (await createExclusive(lockPath, holder)) return { acquired: true, lock: heldLock(lockPath, holder) };

    const current = await readHolder(lockPath);
    if (!current.exists) continue; // released between our attempt and the read: try again
    if (!isStale(current.holder)) return { acquired: false, holder: current.holder };

    // Stale: take it over under the guard so only one process replaces it.
    const guardPath = `${lockPath}.takeover`;
    const guard = newHolder('takeover');
    if (!(await createExclusive(guardPath, guard))) {
      const guardHolder = await readHolder(guardPath);
      if (guardHolder.exists && isStale(guardHolder.holder)) await fsp.unlink(guardPath).catch(() => undefined);
      await delay(2 + Math.random() * 5);
      continue;
    }
    try {
      const again = await readHolder(lockPath);
      if (again.exists && again.raw === current.raw) {
        const tmp = await writePrivate(lockPath, holder);
        await fsp.rename(tmp, lockPath);
        return { acquired: true, lock: heldLock(lockPath, holder) };
      }
    } finally {
      await fsp.unlink(guardPath).catch(() => undefined);
    }
  }
  const current = await readHolder(lockPath);
  return { acquired: false, holder: current.holder };
}

/** Takes the lock, retrying while it is busy, for up to `timeoutMs`. */
export async function acquireLockWaiting(lockPath: string, purpose: string | undefined, timeoutMs: number): Promise<LockAttempt> {
  const deadline = Date.now() + timeoutMs;
  let wait = 1;
  for (;;) {
    const attempt = await tryAcquireLock(lockPath, purpose);
    if (attempt.acquired || Date.now() >= deadline) return attempt;
    await delay(wait + Math.random() * wait);
    wait = Math.min(wait * 2, 25);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
