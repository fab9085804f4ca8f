/**
 * The files a run reads and writes (images, records, state files, exports), checked before
 * anything happens to a device, and written so that nothing is half written or left behind.
 *
 * Why each rule:
 * - Regular files only. Opening a FIFO blocks until the other end opens (open(2), fifo(7)), and a
 *   character device such as /dev/zero never ends; either would hang a run with the probe open.
 *   Every check is a stat(2) before the open, and opens that could race use O_NONBLOCK (a FIFO
 *   then fails with ENXIO or returns at once instead of blocking) and check fstat(2) afterwards.
 * - Sizes are checked by stat before reading, so a huge (or sparse) file fails fast.
 * - No two outputs are one file: paths are compared after resolving symlinks, and existing files
 *   by device and inode too (hard links).
 * - Writes through a symlink go to its target (the link stays a link), via a temporary file in the
 *   target's directory that is renamed over it (rename(2) is atomic within a filesystem).
 * - Temporary files are named `<file>.<pid>.<token>.tmp`; one whose PID is dead on this host is
 *   left over from a killed process and is removed by the next run (`removeStaleTemporaries`).
 * - ENOSPC and EDQUOT (full disk, quota) are FILE_ERROR with a message that says so.
 *
 * A leaf: it imports only errors.ts, so the simulator, the image reader and the records all use it.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TfmError, type ErrorCode } from './errors';

/** What a file is, in words, for an error message. */
export function fileKind(stats: fs.Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** errno codes of a full filesystem or an exhausted quota. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** A FILE_ERROR for an fs failure; a full disk says so, because that is what the operator must fix. */
export function fileError(error: unknown, message: string, details: Record<string, unknown> = {}): TfmError {
  if (error instanceof TfmError) return error;
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  const why = isDiskFull(error) ? `the filesystem is full or over quota (${errno}); free space and run again` : (error as Error | undefined)?.message ?? String(error);
  return new TfmError('FILE_ERROR', `${message}: ${why}`, { cause: error, details: { ...details, ...(errno !== undefined ? { errno } : {}) } });
}

/**
 * stat(2) of `file` (following symlinks): undefined when it does not exist, its Stats when it is a
 * regular file; anything else (FIFO, device, directory, socket) is refused with `code`.
 */
export function statRegularOrAbsent(file: string, what: string, code: ErrorCode = 'FILE_ERROR'): fs.Stats | undefined {
  let stats: fs.Stats;
  try {
    stats = fs.statSync(file);
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT') return undefined;
    throw new TfmError(code, `Cannot use ${file} as ${what}: ${(error as Error).message}. Nothing was done to any device.`, { cause: error, details: { path: file } });
  }
  if (!stats.isFile()) {
    throw new TfmError(code, `${file} is ${fileKind(stats)}, not a regular file; ${what} must be a regular file. Nothing was done to any device.`, {
      details: { path: file, kind: fileKind(stats) },
    });
  }
  return stats;
}

/**
 * Reads a whole regular file of at most `maxBytes` without ever blocking on a FIFO and without
 * reading a file that is too big: stat first, open O_NONBLOCK, fstat again (the path may have
 * been replaced in between), then read.
 */
export function readRegularFile(file: string, what: string, options: { maxBytes: number; code: ErrorCode }): Buffer {
  const tooBig = (size: number): TfmError =>
    new TfmError(options.code, `${file} is ${size} bytes; ${what} may be at most ${options.maxBytes} bytes.`, { details: { path: file, size, maxBytes: options.maxBytes } });
  const before = statRegularOrAbsent(file, what, options.code);
  if (before === undefined) throw new TfmError(options.code, `Cannot read ${what} ${file}: it does not exist.`, { details: { path: file } });
  if (before.size > options.maxBytes) throw tooBig(before.size);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    throw new TfmError(options.code, `Cannot read ${what} ${file}: ${(error as Error).message}`, { cause: error, details: { path: file } });
  }
  try {
    const stats = fs.fstatSync(fd);
    if (!stats.isFile()) throw new TfmError(options.code, `${file} is ${fileKind(stats)}, not a regular file; ${what} must be a regular file.`, { details: { path: file } });
    if (stats.size > options.maxBytes) throw tooBig(stats.size);
    const buffer = Buffer.alloc(stats.size);
    let offset = 0;
    while (offset < buffer.length) {
      const n = fs.readSync(fd, buffer, offset, buffer.length - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return buffer.subarray(0, offset);
  } catch (error) {
    if (error instanceof TfmError) throw error;
    throw new TfmError(options.code, `Cannot read ${what} ${file}: ${(error as Error).message}`, { cause: error, details: { path: file } });
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The file a path names after resolving symlinks: realpath(2) if it exists, else the real path of
 * its directory joined with its name (a dangling symlink resolves to the path it would create).
 */
export function resolvedPath(file: string): string {
  const absolute = path.resolve(file);
  try {
    return fs.realpathSync(absolute);
  } catch {
    // Does not exist (or a dangling link): follow the link by hand, once per level.
    try {
      const link = fs.readlinkSync(absolute);
      return resolvedPath(path.resolve(path.dirname(absolute), link));
    } catch {
      const dir = path.dirname(absolute);
      if (dir === absolute) return absolute;
      return path.join(resolvedPath(dir), path.basename(absolute));
    }
  }
}

export interface NamedPath {
  /** How the operator named it, e.g. "--records", "--export-public-key". */
  what: string;
  file: string;
}

/** Refuses (FILE_CONFLICT) two outputs, or an input and an output, that are one file. */
export function checkDistinctFiles(entries: readonly NamedPath[]): void {
  const seen: Array<{ entry: NamedPath; real: string; ino?: string }> = [];
  for (const entry of entries) {
    const real = resolvedPath(entry.file);
    let ino: string | undefined;
    try {
      const stats = fs.statSync(real);
      ino = `${stats.dev}:${stats.ino}`;
    } catch {
      ino = undefined;
    }
    const clash = seen.find((s) => s.real === real || (ino !== undefined && s.ino === ino));
    if (clash) {
      throw new TfmError(
        'FILE_CONFLICT',
        `${clash.entry.what} ${clash.entry.file} and ${entry.what} ${entry.file} are the same file (${real}); one would overwrite the other. Name different files. Nothing was done to any device.`,
        { details: { first: clash.entry.what, second: entry.what, path: real } },
      );
    }
    seen.push({ entry, real, ino });
  }
}

export function temporaryName(target: string): string {
  return `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

/**
 * Replaces `file` with `data` atomically. A symlink stays a symlink: the data goes to its target.
 * The target must be a regular file or absent (checked first, so a FIFO never blocks the write).
 * The temporary file is removed if anything fails.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, what: string, options: { mode?: number } = {}): void {
  const target = resolvedPath(file);
  const existing = statRegularOrAbsent(target, what);
  const temporary = temporaryName(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temporary, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, options.mode ?? existing?.mode ?? 0o666);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let offset = 0;
    while (offset < bytes.length) offset += fs.writeSync(fd, bytes, offset, bytes.length - offset);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temporary, target);
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(temporary, { force: true });
    throw fileError(error, `Cannot write ${what} ${file}`, { path: file });
  }
}

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes `<base>.<pid>.<token>.tmp` files next to `base` whose PID is dead on this host: what a
 * process killed with SIGKILL (or a power loss) leaves half way through an atomic write. Returns
 * the names removed. Never throws: cleaning up must not stop a run.
 */
export function removeStaleTemporaries(base: string, listing?: readonly string[]): string[] {
  const dir = path.dirname(base);
  const prefix = `${path.basename(base)}.`;
  const removed: string[] = [];
  let names: readonly string[];
  try {
    names = listing ?? fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const match = /^(\d+)\.[0-9a-f]+\.tmp$/u.exec(name.slice(prefix.length));
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || isProcessAlive(pid)) continue;
    try {
      fs.unlinkSync(path.join(dir, name));
      removed.push(name);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

/** Directory listings taken by removeStaleTemporariesOnce, and the bases it has looked for. */
const listings = new Map<string, readonly string[] | undefined>();
const swept = new Set<string>();

/**
 * removeStaleTemporaries, once per base per process, from one listing per directory: what a dead
 * process left is there when this one starts using the directory. For paths taken many times (a
 * lock per probe and per record append), so a station does not list a directory synchronously on
 * the event loop for every lock.
 */
export function removeStaleTemporariesOnce(base: string): string[] {
  const resolved = path.resolve(base);
  if (swept.has(resolved)) return [];
  swept.add(resolved);
  const dir = path.dirname(resolved);
  if (!listings.has(dir)) {
    let names: readonly string[] | undefined;
    try {
      names = fs.readdirSync(dir);
    } catch {
      names = undefined;
    }
    listings.set(dir, names);
  }
  const names = listings.get(dir);
  return names === undefined ? [] : removeStaleTemporaries(resolved, names);
}
