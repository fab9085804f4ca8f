/**
 * Reads a record file and checks it: the hash chain, the station signatures (given the station's
 * public key) and what the records say (meaning.ts). Works on bytes (the chain hashes the exact
 * bytes of each line), streaming, in linear time: each byte is copied at most once into a line,
 * however the lines fall across read chunks (`bytesCopied` counts it, so a test can pin it).
 */
import { createReadStream } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { TfmError } from '../errors';
import { fileError, statRegularOrAbsent } from '../files';
import { GENESIS_HASH, isRecordPrefix, type ProvisioningRecord, recordShapeProblem, sha256Hex, splitSignedLine } from './format';
import { MeaningChecker, type RecordProblem } from './meaning';
import { stationKeyId, verifySignature } from './station-key';

/** No record line comes near this (they are a few KiB); a longer line is not a record. */
export const MAX_RECORD_LINE_BYTES = 1 << 20;

export interface ChainBreak {
  /** 1-based line number of the first line that does not fit. */
  line: number;
  reason: string;
  /** format: not a record; chain: `prev` does not match; signature: not signed by the station key. */
  kind?: 'format' | 'chain' | 'signature';
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
  /** Whether the bytes after the last newline could be a torn record (else the file is not a record file). */
  tailIsRecordPrefix: boolean;
  /** No complete record: nothing is vouched for (not "intact"). */
  empty: boolean;
  /** The file is not a record file at all (its first line, or its only bytes, are not a record). */
  notRecordFile: boolean;
  /** Records carrying a station signature, and records without one (written before signing). */
  signed: number;
  unsigned: number;
  /** 'verified': every record is signed by the given key; 'not-checked': no key given. */
  authorship: 'verified' | 'not-checked' | 'failed';
  keyId?: string;
  /** What the records say that cannot be true (the first 20), and how many there are in all. */
  problems: RecordProblem[];
  problemCount: number;
  /** Bytes copied while splitting lines: at most the file size (linear time). */
  bytesCopied: number;
}

export interface VerifyOptions {
  /** The station's Ed25519 public key: every record must carry its valid signature. */
  publicKey?: KeyObject;
  /** Check what the records say (default true). */
  meaning?: boolean;
}

interface LineScan {
  tail: Buffer;
  tailBytes: number;
  bytesCopied: number;
  stopped: boolean;
}

/**
 * Calls `onLine` for each complete line (bytes without the newline). Returns the first bytes of
 * the tail (after the last newline) and its length. A line over MAX_RECORD_LINE_BYTES is handed
 * over truncated with `tooLong` and ends the scan.
 */
async function forEachLine(filePath: string, onLine: (line: Buffer, lineNumber: number, tooLong: boolean) => boolean | void): Promise<LineScan> {
  const scan: LineScan = { tail: Buffer.alloc(0), tailBytes: 0, bytesCopied: 0, stopped: false };
  statRegularOrAbsent(filePath, 'a record file');
  let parts: Buffer[] = [];
  let partBytes = 0;
  let lineNumber = 0;
  const stream = createReadStream(filePath, { highWaterMark: 1 << 16 });
  try {
    outer: for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      for (;;) {
        const newline = chunk.indexOf(0x0a, start);
        if (newline < 0) break;
        lineNumber++;
        let line: Buffer;
        if (parts.length === 0) line = chunk.subarray(start, newline);
        else {
          parts.push(chunk.subarray(start, newline));
          line = Buffer.concat(parts);
          scan.bytesCopied += line.length;
          parts = [];
          partBytes = 0;
        }
        start = newline + 1;
        if (onLine(line, lineNumber, false) === false) {
          scan.stopped = true;
          break outer;
        }
      }
      if (start < chunk.length) {
        // Kept as a slice, not concatenated: copying the pending bytes per chunk is what made a long line quadratic.
        parts.push(chunk.subarray(start));
        partBytes += chunk.length - start;
        if (partBytes > MAX_RECORD_LINE_BYTES) {
          lineNumber++;
          onLine(Buffer.concat(parts).subarray(0, 64), lineNumber, true);
          scan.stopped = true;
          break;
        }
      }
    }
  } catch (error) {
    throw fileError(error, `Cannot read the record file ${filePath}`, { path: filePath });
  } finally {
    stream.destroy();
  }
  if (!scan.stopped && parts.length > 0) {
    scan.tailBytes = partBytes;
    scan.tail = Buffer.concat(parts).subarray(0, 64);
  }
  return scan;
}

export async function verifyRecordFile(filePath: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const report: VerifyReport = {
    ok: true,
    path: filePath,
    lines: 0,
    intents: 0,
    results: 0,
    headHash: GENESIS_HASH,
    incompleteTailBytes: 0,
    tailIsRecordPrefix: true,
    empty: false,
    notRecordFile: false,
    signed: 0,
    unsigned: 0,
    authorship: options.publicKey !== undefined ? 'verified' : 'not-checked',
    ...(options.publicKey !== undefined ? { keyId: stationKeyId(options.publicKey) } : {}),
    problems: [],
    problemCount: 0,
    bytesCopied: 0,
  };
  const meaning = options.meaning === false ? undefined : new MeaningChecker();
  let expectedPrev = GENESIS_HASH;
  const stop = (brk: ChainBreak): false => {
    report.firstBreak = brk;
    return false;
  };
  const scan = await forEachLine(filePath, (line, lineNumber, tooLong) => {
    report.lines = lineNumber;
    if (tooLong) return stop({ line: lineNumber, kind: 'format', reason: `line longer than ${MAX_RECORD_LINE_BYTES} bytes (not a record)` });
    let value: unknown;
    try {
      value = JSON.parse(line.toString('utf8'));
    } catch {
      return stop({ line: lineNumber, kind: 'format', reason: 'line is not valid JSON' });
    }
    const problem = recordShapeProblem(value);
    if (problem !== undefined) return stop({ line: lineNumber, kind: 'format', reason: problem });
    const record = value as ProvisioningRecord;
    if (record.prev !== expectedPrev) {
      return stop({
        line: lineNumber,
        kind: 'chain',
        reason: lineNumber === 1 ? 'first record does not start the chain' : 'hash of the previous line does not match "prev"',
        expectedPrev,
        foundPrev: record.prev,
      });
    }
    const signed = splitSignedLine(line);
    if (signed !== undefined && record.sig === signed.sig && typeof record.keyId === 'string') report.signed++;
    else if (record.sig !== undefined || record.keyId !== undefined) return stop({ line: lineNumber, kind: 'signature', reason: 'malformed signature (the "sig" member must close the line)' });
    else report.unsigned++;
    if (options.publicKey !== undefined) {
      if (signed === undefined) return stop({ line: lineNumber, kind: 'signature', reason: 'record is not signed' });
      if (record.keyId !== report.keyId) return stop({ line: lineNumber, kind: 'signature', reason: `signed by another station key (${String(record.keyId)})` });
      if (!verifySignature(options.publicKey, Buffer.from(sha256Hex(signed.body), 'hex'), signed.sig)) {
        return stop({ line: lineNumber, kind: 'signature', reason: 'signature does not verify with the station public key' });
      }
    }
    meaning?.check(record, lineNumber);
    if (record.type === 'intent') report.intents++;
    else report.results++;
    expectedPrev = sha256Hex(line);
    report.headHash = expectedPrev;
    return true;
  });
  report.bytesCopied = scan.bytesCopied;
  report.incompleteTailBytes = scan.tailBytes;
  report.tailIsRecordPrefix = scan.tailBytes === 0 || isRecordPrefix(scan.tail);
  const records = report.intents + report.results;
  report.notRecordFile = (report.firstBreak?.kind === 'format' && report.firstBreak.line === 1) || (records === 0 && report.firstBreak === undefined && !report.tailIsRecordPrefix);
  report.empty = records === 0 && report.firstBreak === undefined && !report.notRecordFile;
  if (meaning) {
    report.problems = meaning.problems;
    report.problemCount = meaning.problemCount;
  }
  if (report.firstBreak?.kind === 'signature') report.authorship = 'failed';
  if (options.publicKey !== undefined && records === 0) report.authorship = 'failed';
  report.ok = report.firstBreak === undefined && !report.empty && !report.notRecordFile && report.tailIsRecordPrefix && report.problemCount === 0;
  return report;
}

/**
 * Whether a file may be appended to: absent, empty, or a record chain (a torn last line allowed).
 * Anything else is refused with RECORDS_INVALID and left exactly as it is; FIFOs and devices are
 * refused by stat before anything opens them.
 */
export async function checkAppendable(filePath: string): Promise<VerifyReport | undefined> {
  const stats = statRegularOrAbsent(filePath, 'the record file');
  if (stats === undefined || stats.size === 0) return undefined;
  const report = await verifyRecordFile(filePath, { meaning: false });
  const refuse = (why: string): never => {
    throw new TfmError('RECORDS_INVALID', `${filePath} ${why}; records are appended only to a record file. It was left unchanged; name another --records file. Nothing was done to any device.`, {
      details: { path: filePath, ...(report.firstBreak ? { line: report.firstBreak.line, reason: report.firstBreak.reason } : {}) },
    });
  };
  if (report.notRecordFile) refuse('is not a record file (JSON Lines of provisioning records)');
  if (report.firstBreak !== undefined) refuse(`is not an intact record chain (line ${report.firstBreak.line}: ${report.firstBreak.reason})`);
  if (!report.tailIsRecordPrefix) refuse('ends with bytes that are not part of a record');
  return report;
}

/** Parses every complete line of a record file (no chain check); throws RECORDS_INVALID on a bad line. */
export async function readRecords(filePath: string): Promise<ProvisioningRecord[]> {
  const records: ProvisioningRecord[] = [];
  await forEachLine(filePath, (line, lineNumber, tooLong) => {
    if (tooLong) throw new TfmError('RECORDS_INVALID', `${filePath}:${lineNumber} is longer than ${MAX_RECORD_LINE_BYTES} bytes.`, { details: { line: lineNumber } });
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

/** The error of a report that is not ok, with the code that says what is wrong; `name` is the file as the user gave it. */
export function reportError(report: VerifyReport, name: string = report.path): TfmError | undefined {
  const brk = report.firstBreak;
  if (report.notRecordFile) {
    return new TfmError('RECORDS_INVALID', `${name} is not a record file${brk ? ` (line ${brk.line}: ${brk.reason})` : ' (it holds no record line)'}.`, { details: { ...brk } });
  }
  if (brk?.kind === 'signature') {
    return new TfmError('RECORDS_SIGNATURE_INVALID', `${name}: line ${brk.line}: ${brk.reason}. The records from there on were not written by the station whose key was given.`, { details: { ...brk } });
  }
  if (brk !== undefined) {
    return new TfmError('RECORDS_CHAIN_BROKEN', `${name}: the record chain breaks at line ${brk.line}: ${brk.reason}. Lines from there on cannot be trusted.`, { details: { ...brk } });
  }
  if (!report.tailIsRecordPrefix) return new TfmError('RECORDS_INVALID', `${name} ends with ${report.incompleteTailBytes} bytes that are not part of a record.`);
  if (report.empty) return new TfmError('RECORDS_EMPTY', `${name} holds no complete record: there is nothing to verify (an empty file is not an intact record chain).`);
  if (report.problemCount > 0) {
    const first = report.problems[0]!;
    return new TfmError('RECORDS_INCONSISTENT', `${name}: ${report.problemCount} record(s) say impossible things; first, line ${first.line}: ${first.reason}.`, {
      details: { problems: report.problems, problemCount: report.problemCount },
    });
  }
  if (report.authorship === 'failed') return new TfmError('RECORDS_SIGNATURE_INVALID', `${name}: no record signed by the given station key.`);
  return undefined;
}
