/**
 * Appends records to a JSON Lines file with the durability the factory needs:
 *  - each append returns only after the line is written and fdatasync'ed, so a caller that awaits
 *    `intent()` before an irreversible write knows the intent survives a crash or power loss;
 *  - appends from several workers in this process are grouped (one write and one fsync per batch);
 *    appends from other processes are excluded by a lock file next to the record file (`FILE.lock`, holder PID inside), so the
 *    hash chain stays linear when two commands share one record file;
 *  - all I/O is asynchronous (libuv pool), so fsync never stalls the event loop of a station.
 *
 * A line left incomplete by a power loss (no newline at the end of the file) announced nothing
 * that happened, because nothing proceeds before its fsync returns; the next append cuts it off
 * and reports it through `onRepair`.
 */
import { constants as fsConstants, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { TfmError } from '../errors';
import { fileError, fileKind, removeStaleTemporaries } from '../files';
import {
  GENESIS_HASH,
  type IntentInput,
  type IntentRecord,
  RECORD_FORMAT_VERSION,
  type ProvisioningRecord,
  type ResultInput,
  type ResultRecord,
  appendSignature,
  isRecordPrefix,
  sha256Hex,
} from './format';
import { acquireLockWaiting } from './lockfile';
import type { StationKey } from './station-key';
import { checkAppendable } from './verify';

export interface RecordWriterOptions {
  /** How long to wait for another process's append to finish (default 10 s). */
  lockTimeoutMs?: number;
  /** Called when an incomplete last line (interrupted write) was cut off before appending. */
  onRepair?: (info: { path: string; removedBytes: number }) => void;
  /** Signs every record (keyId and sig members); without it records are chain-only. */
  signer?: StationKey;
}

const NEWLINE = Buffer.from('\n');

interface PendingAppend {
  body: Omit<ProvisioningRecord, 'prev' | 'time'>;
  resolve: (record: ProvisioningRecord) => void;
  reject: (error: unknown) => void;
}

interface TailState {
  /** File size after our last append; if the file still has this size, `hash` is current. */
  size: number;
  hash: string;
}

export class RecordWriter {
  readonly path: string;
  private readonly options: RecordWriterOptions;

  /** The key ID of the station key that signs this file's records, if any. */
  get signerKeyId(): string | undefined {
    return this.options.signer?.keyId;
  }
  private pending: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;
  private tail: TailState | undefined;
  private closed = false;

  private constructor(filePath: string, options: RecordWriterOptions) {
    this.path = filePath;
    this.options = options;
  }

  /**
   * Opens (creating if needed) a record file. The directory entry is fsynced on creation.
   * Refused, and left unchanged, when the file is not a record chain (RECORDS_INVALID) or not a
   * regular file (FILE_ERROR: a FIFO would block, a device never ends); checked before any open.
   */
  static async open(filePath: string, options: RecordWriterOptions = {}): Promise<RecordWriter> {
    const resolved = path.resolve(filePath);
    const dir = path.dirname(resolved);
    await checkAppendable(resolved);
    try {
      await fsp.mkdir(dir, { recursive: true });
      // O_NONBLOCK: if the path became a FIFO since the check, open fails (ENXIO) instead of blocking.
      const handle = await fsp.open(resolved, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_NONBLOCK, 0o644);
      try {
        const stats = await handle.stat();
        if (!stats.isFile()) throw new TfmError('FILE_ERROR', `${resolved} is ${fileKind(stats)}, not a regular file; the record file must be a regular file.`);
      } finally {
        await handle.close();
      }
      await syncDirectory(dir);
    } catch (error) {
      throw fileError(error, `Cannot open the record file ${resolved}`, { path: resolved });
    }
    // Left by a process killed half way through taking the lock.
    removeStaleTemporaries(`${resolved}.lock`);
    removeStaleTemporaries(`${resolved}.lock.takeover`);
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
    while (this.flushing !== undefined) await this.flushing;
  }

  private append<T extends ProvisioningRecord>(body: Omit<T, 'prev' | 'time'>): Promise<T> {
    if (this.closed) return Promise.reject(new TfmError('FILE_ERROR', `Record file ${this.path} is closed.`));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ body: body as unknown as PendingAppend['body'], resolve: resolve as PendingAppend['resolve'], reject });
      this.kick();
    });
  }

  /** Starts the flush loop unless it runs; restarts it for appends that arrived as it finished. */
  private kick(): void {
    if (this.flushing !== undefined || this.pending.length === 0) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
      this.kick();
    });
  }

  /**
   * Group commit: every append that arrives while a write is in flight joins the next batch, which
   * is one lock, one write and one fdatasync for all of them. Each caller still resolves only once
   * its own line is durable; a station of 16 probes does not queue 32 fsyncs one behind the other.
   */
  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.pending.length);
      try {
        const records = await this.writeBatch(batch.map((p) => p.body));
        batch.forEach((p, i) => p.resolve(records[i]!));
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
  }

  private async writeBatch(bodies: Array<PendingAppend['body']>): Promise<ProvisioningRecord[]> {
    let lock;
    try {
      lock = await acquireLockWaiting(`${this.path}.lock`, 'records append', this.options.lockTimeoutMs ?? 10_000);
    } catch (error) {
      throw fileError(error, `Cannot lock the record file ${this.path} for an append`, { path: this.path });
    }
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
      let prev = await this.previousHash(handle);
      const records: ProvisioningRecord[] = [];
      const lines: Buffer[] = [];
      for (const body of bodies) {
        // Field order: version, type, chain link, time, then the facts in the caller's order.
        const { v, type, ...facts } = body;
        const signer = this.options.signer;
        const record = { v, type, prev, time: new Date().toISOString(), ...facts, ...(signer ? { keyId: signer.keyId } : {}) } as unknown as ProvisioningRecord;
        let line: Buffer = Buffer.from(JSON.stringify(record), 'utf8');
        if (signer) {
          // The signature is the line's last member, over the SHA-256 of the line without it.
          const sig = signer.sign(Buffer.from(sha256Hex(line), 'hex'));
          line = appendSignature(line, sig);
          record.sig = sig;
        }
        prev = sha256Hex(line);
        records.push(record);
        lines.push(line, NEWLINE);
      }
      const data = Buffer.concat(lines);
      let offset = 0;
      while (offset < data.length) {
        const { bytesWritten } = await handle.write(data, offset, data.length - offset);
        offset += bytesWritten;
      }
      await handle.datasync();
      const size = (await handle.stat()).size;
      this.tail = { size, hash: prev };
      return records;
    } catch (error) {
      this.tail = undefined;
      throw fileError(error, `Cannot append to the record file ${this.path}`, { path: this.path });
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
        // Only a torn record is cut off; bytes that cannot start a record are someone else's data.
        if (!isRecordPrefix(buffer.subarray(keep - start))) {
          throw new TfmError('RECORDS_INVALID', `${this.path} ends with bytes that are not part of a record; it was left unchanged.`, { details: { path: this.path } });
        }
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
