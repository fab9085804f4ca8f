/**
 * Appends records to a JSON Lines file with the durability the factory needs:
 *  - each append returns only after the line is written and fdatasync'ed, so a caller that awaits
 *    `intent()` before an irreversible write knows the intent survives a crash or power loss;
 *  - appends from several workers in this process are queued; appends from other processes are
 *    excluded by a lock file next to the record file (`FILE.lock`, holder PID inside), so the
 *    hash chain stays linear when two commands share one record file;
 *  - all I/O is asynchronous (libuv pool), so fsync never stalls the event loop of a station.
 *
 * A line left incomplete by a power loss (no newline at the end of the file) announced nothing
 * that happened, because nothing proceeds before its fsync returns; the next append cuts it off
 * and reports it through `onRepair`.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { TfmError } from '../errors';
import {
  GENESIS_HASH,
  type IntentInput,
  type IntentRecord,
  RECORD_FORMAT_VERSION,
  type ProvisioningRecord,
  type ResultInput,
  type ResultRecord,
  sha256Hex,
} from './format';
import { acquireLockWaiting } from './lockfile';

export interface RecordWriterOptions {
  /** How long to wait for another process's append to finish (default 10 s). */
  lockTimeoutMs?: number;
  /** Called when an incomplete last line (interrupted write) was cut off before appending. */
  onRepair?: (info: { path: string; removedBytes: number }) => void;
}

interface TailState {
  /** File size after our last append; if the file still has this size, `hash` is current. */
  size: number;
  hash: string;
}

export class RecordWriter {
  readonly path: string;
  private readonly options: RecordWriterOptions;
  private queue: Promise<unknown> = Promise.resolve();
  private tail: TailState | undefined;
  private closed = false;

  private constructor(filePath: string, options: RecordWriterOptions) {
    this.path = filePath;
    this.options = options;
  }

  /** Opens (creating if needed) a record file. The directory entry is fsynced on creation. */
  static async open(filePath: string, options: RecordWriterOptions = {}): Promise<RecordWriter> {
    const resolved = path.resolve(filePath);
    const dir = path.dirname(resolved);
    try {
      await fsp.mkdir(dir, { recursive: true });
      const handle = await fsp.open(resolved, 'a');
      await handle.close();
      await syncDirectory(dir);
    } catch (error) {
      throw new TfmError('FILE_ERROR', `Cannot open the record file ${resolved}: ${(error as Error).message}`, { cause: error });
    }
    return new RecordWriter(resolved, options);
  }

  /** Appends an intent record; resolves once it is durable. */
  intent(input: IntentInput): Promise<IntentRecord> {
    return this.append<IntentRecord>({ v: RECORD_FORMAT_VERSION, type: 'intent', ...input });
  }

  /** Appends a result record; resolves once it is durable. */
  result(input: ResultInput): Promise<ResultRecord> {
    return this.append<ResultRecord>({ v: RECORD_FORMAT_VERSION, type: 'result', ...input });
  }

  /** Waits for queued appends; further appends fail. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => undefined);
  }

  private append<T extends ProvisioningRecord>(body: Omit<T, 'prev' | 'time'>): Promise<T> {
    if (this.closed) return Promise.reject(new TfmError('FILE_ERROR', `Record file ${this.path} is closed.`));
    const run = this.queue.then(
      () => this.appendNow<T>(body),
      () => this.appendNow<T>(body),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async appendNow<T extends ProvisioningRecord>(body: Omit<T, 'prev' | 'time'>): Promise<T> {
    const lock = await acquireLockWaiting(`${this.path}.lock`, 'records append', this.options.lockTimeoutMs ?? 10_000);
    if (!lock.acquired) {
      throw new TfmError(
        'FILE_ERROR',
        `The record file ${this.path} is locked by process ${lock.holder?.pid ?? '?'}; its append did not finish in time.`,
        { details: { holderPid: lock.holder?.pid } },
      );
    }
    let handle: fsp.FileHandle | undefined;
    try {
      handle = await fsp.open(this.path, 'a+');
      const prev = await this.previousHash(handle);
      // Field order: version, type, chain link, time, then the facts in the caller's order.
      const { v, type, ...facts } = body as unknown as Omit<ProvisioningRecord, 'prev' | 'time'>;
      const record = { v, type, prev, time: new Date().toISOString(), ...facts } as unknown as T;
      const line = Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
      let offset = 0;
      while (offset < line.length) {
        const { bytesWritten } = await handle.write(line, offset, line.length - offset);
        offset += bytesWritten;
      }
      await handle.datasync();
      const size = (await handle.stat()).size;
      this.tail = { size, hash: sha256Hex(line.subarray(0, line.length - 1)) };
      return record;
    } catch (error) {
      this.tail = undefined;
      if (error instanceof TfmError) throw error;
      throw new TfmError('FILE_ERROR', `Cannot append to the record file ${this.path}: ${(error as Error).message}`, { cause: error });
    } finally {
      await handle?.close().catch(() => undefined);
      await lock.lock.release();
    }
  }

  /** Hash of the last complete line; cuts off an incomplete last line first. */
  private async previousHash(handle: fsp.FileHandle): Promise<string> {
    const size = (await handle.stat()).size;
    if (size === 0) return GENESIS_HASH;
    if (this.tail !== undefined && this.tail.size === size) return this.tail.hash;

    let chunk = 4096;
    for (;;) {
      const start = Math.max(0, size - chunk);
      const buffer = Buffer.alloc(size - start);
      await readFully(handle, buffer, start);
      const endsWithNewline = buffer[buffer.length - 1] === 0x0a;
      const body = endsWithNewline ? buffer.subarray(0, buffer.length - 1) : buffer;
      const lastNewline = body.lastIndexOf(0x0a);
      if (!endsWithNewline) {
        // Incomplete last line: cut it off (everything after the last newline of the file).
        if (lastNewline < 0 && start > 0) {
          chunk *= 2;
          continue;
        }
        const keep = lastNewline < 0 ? 0 : start + lastNewline + 1;
        await handle.truncate(keep);
        await handle.datasync();
        this.options.onRepair?.({ path: this.path, removedBytes: size - keep });
        this.tail = undefined;
        return this.previousHash(handle);
      }
      if (lastNewline >= 0 || start === 0) return sha256Hex(body.subarray(lastNewline + 1));
      chunk *= 2;
    }
  }
}

async function readFully(handle: fsp.FileHandle, buffer: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesRead } = await handle.read(buffer, offset, buffer.length - offset, position + offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
}

/** fsync of a directory makes a newly created file's entry durable (no-op where unsupported). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows cannot open directories; the file's own fsync is what we can do there.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
