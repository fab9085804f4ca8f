/**
 * Record files into the registry:
 *
 *  - `registry sync FILE`: replays the results a registry did not take while it was away (the
 *    station went on with the local records). Each result record becomes the completion it would
 *    have been; the registry applies each attempt ID once, so a replay of the same file (or of an
 *    attempt it already has) changes nothing.
 *  - `registry import FILE --lot NAME`: backfills devices provisioned without a registry: every
 *    verified result with an identity key becomes a provisioned device of the lot (counted as used,
 *    within its quota), with its intent and result as the attempt.
 *
 * Both check the file first (chain and meaning, records/verify.ts). Signed records are checked
 * against the station's key: the one given, else the one the station registered (stations table,
 * by the records' key ID). A file that does not verify is refused whole.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { TfmError } from '../errors';
import type { IntentRecord, ProvisioningRecord, ResultRecord } from '../records/format';
import { readRecords, reportError, verifyRecordFile } from '../records/verify';
import { completionOf } from './attempt';
import type { PgRegistry } from './pg';

export interface RecordFileCheck {
  records: ProvisioningRecord[];
  keyId?: string;
  /** 'verified' when every record is signed by the station's key; 'unsigned' for records without signatures. */
  authorship: 'verified' | 'unsigned';
}

/** The station's public key for records signed with `keyId`, from the registry's stations table. */
async function registeredKey(registry: PgRegistry, keyId: string): Promise<KeyObject | undefined> {
  const pem = await registry.stationPublicKey(keyId);
  if (pem === undefined) return undefined;
  try {
    return createPublicKey(pem);
  } catch {
    return undefined;
  }
}

/** Reads and checks a record file (chain, meaning, and signatures against the station's key). */
export async function checkRecordFile(registry: PgRegistry, file: string, name: string, publicKey?: KeyObject): Promise<RecordFileCheck> {
  const records = await readRecords(file);
  const keyId = records.find((r) => r.keyId !== undefined)?.keyId;
  let key = publicKey;
  if (key === undefined && keyId !== undefined) {
    key = await registeredKey(registry, keyId);
    if (key === undefined) {
      throw new TfmError(
        'RECORDS_SIGNATURE_INVALID',
        `${name} is signed by station key ${keyId.slice(0, 16)}..., which the registry does not know: give its public key with --public-key (from \`tfm-provision records init\` on that station).`,
        { details: { keyId } },
      );
    }
  }
  const report = await verifyRecordFile(file, key !== undefined ? { publicKey: key } : {});
  const error = reportError(report, name);
  if (error !== undefined) throw error;
  return { records, ...(keyId !== undefined ? { keyId } : {}), authorship: key !== undefined ? 'verified' : 'unsigned' };
}

export interface ReplayLine {
  attempt: string;
  deviceId?: string;
  outcome: string;
  /** replayed: the registry took it now; known: it had it already; the device's state after. */
  status: 'replayed' | 'known';
  state?: string;
}

/** `registry sync`: every result record, as the completion it would have been. */
export async function syncRecords(registry: PgRegistry, check: RecordFileCheck, lot?: string): Promise<ReplayLine[]> {
  const lines: ReplayLine[] = [];
  for (const record of check.records) {
    if (record.type !== 'result') continue;
    const done = await registry.complete(completionOf(record, { station: record.keyId ?? check.keyId, lot }));
    lines.push({
      attempt: record.attempt,
      ...(record.deviceId !== undefined ? { deviceId: record.deviceId } : {}),
      outcome: record.outcome,
      status: done.applied ? 'replayed' : 'known',
      ...(done.state !== undefined ? { state: done.state } : {}),
    });
  }
  return lines;
}

export interface ImportLine {
  attempt: string;
  deviceId?: string;
  /** OK (imported), ALREADY_IMPORTED, or the reason it was not: QUOTA_EXHAUSTED, DEVICE_ALREADY_REGISTERED, ... */
  status: string;
}

/** `registry import`: verified results with an identity key, as provisioned devices of `lot`. */
export async function importRecords(registry: PgRegistry, check: RecordFileCheck, lot: string): Promise<ImportLine[]> {
  const intents = new Map<string, IntentRecord>();
  for (const r of check.records) if (r.type === 'intent') intents.set(r.attempt, r);
  const lines: ImportLine[] = [];
  for (const record of check.records) {
    if (record.type !== 'result') continue;
    const r = record as ResultRecord;
    if (!r.verified || (r.outcome !== 'provisioned' && r.outcome !== 'alreadyProvisioned') || r.identityPublicKey === undefined || r.chip === undefined || r.deviceId === undefined) continue;
    const status = await registry.importDevice({
      lot,
      attempt: r.attempt,
      chip: r.chip,
      deviceId: r.deviceId,
      station: r.keyId ?? check.keyId,
      probeSerial: r.probeSerial,
      implementationId: r.implementationId,
      identityPublicKey: r.identityPublicKey,
      instanceId: r.instanceId,
      instanceIdFormula: r.instanceIdFormula ?? '2.1',
      intent: intents.get(r.attempt) as unknown as Record<string, unknown> | undefined,
      result: r as unknown as Record<string, unknown>,
    });
    lines.push({ attempt: r.attempt, deviceId: r.deviceId, status });
  }
  return lines;
}
