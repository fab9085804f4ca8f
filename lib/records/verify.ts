/**
 * Reads a record file and checks its hash chain. Works on bytes (the chain hashes the exact bytes
 * of each line), streaming, so a large file is fine.
 */
import { createReadStream } from 'node:fs';
import { TfmError } from '../errors';
import { GENESIS_HASH, type ProvisioningRecord, recordShapeProblem, sha256Hex } from './format';

export interface ChainBreak {
  /** 1-based line number of the first line that does not fit. */
  line: number;
  reason: string;
  expectedPrev?: string;
  foundPrev?: string;
}

export interface VerifyReport {
  ok: boolean;
  path: string;
  /** Complete lines read (up to and including the first break). */
  lines: number;
  intents: number;
  results: number;
  /** SHA-256 of the last complete line: anchor it elsewhere to detect lines cut off the end. */
  headHash: string;
  firstBreak?: ChainBreak;
  /** Bytes after the last newline: an append interrupted by a crash or power loss. */
  incompleteTailBytes: number;
}

/** Calls `onLine` for each complete line (bytes without the newline), then returns the tail bytes. */
async function forEachLine(filePath: string, onLine: (line: Buffer, lineNumber: number) => boolean | void): Promise<number> {
  let pending: Buffer = Buffer.alloc(0);
  let lineNumber = 0;
  let stopped = false;
  const stream = createReadStream(filePath);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let data = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
      let newline: number;
      while ((newline = data.indexOf(0x0a)) >= 0) {
        lineNumber++;
        if (onLine(data.subarray(0, newline), lineNumber) === false) {
          stopped = true;
          break;
        }
        data = data.subarray(newline + 1);
      }
      if (stopped) break;
      pending = Buffer.from(data);
    }
  } catch (error) {
    if (error instanceof TfmError) throw error;
    throw new TfmError('FILE_ERROR', `Cannot read the record file ${filePath}: ${(error as Error).message}`, { cause: error });
  } finally {
    stream.destroy();
  }
  return stopped ? 0 : pending.length;
}

export async function verifyRecordFile(filePath: string): Promise<VerifyReport> {
  const report: VerifyReport = { ok: true, path: filePath, lines: 0, intents: 0, results: 0, headHash: GENESIS_HASH, incompleteTailBytes: 0 };
  let expectedPrev = GENESIS_HASH;
  report.incompleteTailBytes = await forEachLine(filePath, (line, lineNumber) => {
    report.lines = lineNumber;
    let value: unknown;
    try {
      value = JSON.parse(line.toString('utf8'));
    } catch {
      report.firstBreak = { line: lineNumber, reason: 'line is not valid JSON' };
      return false;
    }
    const problem = recordShapeProblem(value);
    if (problem !== undefined) {
      report.firstBreak = { line: lineNumber, reason: problem };
      return false;
    }
    const record = value as ProvisioningRecord;
    if (record.prev !== expectedPrev) {
      report.firstBreak = {
        line: lineNumber,
        reason: lineNumber === 1 ? 'first record does not start the chain' : 'hash of the previous line does not match "prev"',
        expectedPrev,
        foundPrev: record.prev,
      };
      return false;
    }
    if (record.type === 'intent') report.intents++;
    else report.results++;
    expectedPrev = sha256Hex(line);
    report.headHash = expectedPrev;
    return true;
  });
  report.ok = report.firstBreak === undefined;
  return report;
}

/** Parses every complete line of a record file (no chain check); throws RECORDS_INVALID on a bad line. */
export async function readRecords(filePath: string): Promise<ProvisioningRecord[]> {
  const records: ProvisioningRecord[] = [];
  await forEachLine(filePath, (line, lineNumber) => {
    let value: unknown;
    try {
      value = JSON.parse(line.toString('utf8'));
    } catch {
      throw new TfmError('RECORDS_INVALID', `${filePath}:${lineNumber} is not valid JSON.`, { details: { line: lineNumber } });
    }
    const problem = recordShapeProblem(value);
    if (problem !== undefined) {
      throw new TfmError('RECORDS_INVALID', `${filePath}:${lineNumber}: ${problem}.`, { details: { line: lineNumber } });
    }
    records.push(value as ProvisioningRecord);
  });
  return records;
}
