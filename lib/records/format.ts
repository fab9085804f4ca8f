/**
 * The provisioning record file: JSON Lines, one record per line, appended only.
 *
 * Two records per attempt that writes anything: an `intent` record, written and fsynced before the
 * first irreversible write, and a `result` record after verification (or after the failure). An
 * attempt refused before writing has only its `result` record.
 *
 * Authorship: a record written with a station key (station-key.ts) ends with `"keyId"` (the key's
 * ID) and `"sig"`, the last member: an Ed25519 signature of sha256(body), body being the line without
 * its `,"sig":"..."` member. `records verify --public-key` checks it; see docs/records.md.
 *
 * Tamper evidence: every record carries `prev`, the SHA-256 (hex) of the exact bytes of the line
 * before it (without its newline); the first record of a file carries 64 zeros. Changing,
 * inserting or deleting a line breaks the chain at the next line. (Cutting lines off the end
 * cannot be seen from inside the file; anchor the head hash that `records verify` prints elsewhere.)
 * The chain alone proves nothing against a forger: anyone can recompute SHA-256. Signatures do.
 *
 * Never key material: records are built field by field from public facts; nothing is spread in.
 */
import { createHash } from 'node:crypto';

export const RECORD_FORMAT_VERSION = 1;
export const GENESIS_HASH = '0'.repeat(64);

export type RecordType = 'intent' | 'result';
export type RecordOutcome = 'provisioned' | 'alreadyProvisioned' | 'dryRun' | 'refused' | 'failed';

/** Facts known before anything is written. */
export interface AttemptFacts {
  /** Random id that ties an attempt's intent and result records together. */
  attempt: string;
  tool: { name: string; version: string };
  probeSerial: number;
  backend: string;
  simulated: boolean;
  chip?: string;
  deviceId?: string;
  strategy?: string;
  lifecycleBefore?: string;
  /** Implementation ID (hex) that is or will be written. */
  implementationId?: string;
  startedAt: string;
  /** Station key ID (signed records only). */
  keyId?: string;
  /** Ed25519 signature, hex; always the last member of the line (signed records only). */
  sig?: string;
}

export interface IntentRecord extends AttemptFacts {
  v: typeof RECORD_FORMAT_VERSION;
  type: 'intent';
  prev: string;
  time: string;
  /** What the attempt is about to write, by step name. */
  plannedSteps?: string[];
  /** The identity public key about to be written (uncompressed, hex): public, and known before the
   *  write, so a registry learns it even if the attempt dies half way. */
  identityPublicKey?: string;
  instanceId?: string;
  /** The TF-M formula of instanceId: '2.1' or '2.2'. Records written before it was named hold the
   *  TF-M 2.1 formula's ID and no field: readers take its absence as '2.1'. */
  instanceIdFormula?: '2.1' | '2.2';
}

export interface ResultRecord extends AttemptFacts {
  v: typeof RECORD_FORMAT_VERSION;
  type: 'result';
  prev: string;
  time: string;
  outcome: RecordOutcome;
  /** True when the result was verified by read-back. */
  verified: boolean;
  lifecycleAfter?: string;
  /** Uncompressed SEC1 public key (04 || X || Y), hex. */
  identityPublicKey?: string;
  instanceId?: string;
  /** As in the intent record: absent in records written before it was named, which mean '2.1'. */
  instanceIdFormula?: '2.1' | '2.2';
  errorCode?: string;
  error?: string;
  /** Whether anything irreversible had been written when the attempt ended. */
  wroteDevice: boolean;
  finishedAt: string;
  durationMs: number;
}

export type ProvisioningRecord = IntentRecord | ResultRecord;
/** What a caller hands to the writer; the writer adds `v`, `prev` and `time`. */
export type IntentInput = Omit<IntentRecord, 'v' | 'prev' | 'time' | 'type'>;
export type ResultInput = Omit<ResultRecord, 'v' | 'prev' | 'time' | 'type'>;

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Shape check of one parsed line; returns a reason when it is not a record. */
export function recordShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  if (record.v !== RECORD_FORMAT_VERSION) return `unknown record version ${JSON.stringify(record.v)}`;
  if (record.type !== 'intent' && record.type !== 'result') return `unknown record type ${JSON.stringify(record.type)}`;
  if (typeof record.prev !== 'string' || !HEX64.test(record.prev)) return 'missing or malformed "prev" hash';
  if (typeof record.attempt !== 'string') return 'missing "attempt"';
  if (typeof record.probeSerial !== 'number') return 'missing "probeSerial"';
  return undefined;
}

/** Every record line starts with these bytes (the writer's field order: v, type, prev, ...). */
export const RECORD_LINE_START = Buffer.from(`{"v":${RECORD_FORMAT_VERSION},"type":"`, 'utf8');

/** Whether bytes could be the start of a record line, e.g. the torn last line of an append. */
export function isRecordPrefix(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, RECORD_LINE_START.length);
  return n > 0 && Buffer.compare(Buffer.from(bytes.subarray(0, n)), RECORD_LINE_START.subarray(0, n)) === 0;
}

/** `,"sig":"<128 hex>"}`: the signature member closing a signed line. */
export const SIGNATURE_SUFFIX_LENGTH = ',"sig":"'.length + 128 + '"}'.length;
const SIGNATURE_SUFFIX = /^,"sig":"[0-9a-f]{128}"\}$/u;

/** The signed body of a line (the line without its signature member) and the signature, or undefined. */
export function splitSignedLine(line: Buffer): { body: Buffer; sig: string } | undefined {
  if (line.length <= SIGNATURE_SUFFIX_LENGTH) return undefined;
  const suffix = line.subarray(line.length - SIGNATURE_SUFFIX_LENGTH).toString('latin1');
  if (!SIGNATURE_SUFFIX.test(suffix)) return undefined;
  return { body: Buffer.concat([line.subarray(0, line.length - SIGNATURE_SUFFIX_LENGTH), Buffer.from('}')]), sig: suffix.slice(8, 136) };
}

/** Adds the signature member to a serialized body (a JSON object ending in `}`). */
export function appendSignature(body: Buffer, sig: string): Buffer {
  return Buffer.concat([body.subarray(0, body.length - 1), Buffer.from(`,"sig":"${sig}"}`, 'utf8')]);
}
