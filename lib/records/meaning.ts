/**
 * What the records say, checked for sense, one record at a time in order (linear time; memory is
 * one entry per attempt and per identity key):
 * - an identity public key is an uncompressed P-256 point on the curve (node:crypto imports it as
 *   SPKI, which OpenSSL refuses for a point off the curve);
 * - an instance ID is the one TF-M derives from that key under the record's `instanceIdFormula`
 *   ('2.1' when absent: the legacy 0x01 || SHA-256(65-byte key); lib/attest/instance-id.ts);
 * - an attempt has at most one intent and one result, the intent first; a result that wrote the
 *   device (or says provisioned) has an intent before it (format.ts: the intent is fsynced before
 *   the first irreversible write);
 * - an attempt's intent and result name the same device, probe, chip, key and instance ID;
 * - one identity key belongs to one device.
 */
import { createPublicKey } from 'node:crypto';
import { instanceIdUnder, isInstanceIdFormula } from '../attest/instance-id';
import type { ProvisioningRecord } from './format';

export interface RecordProblem {
  line: number;
  attempt?: string;
  reason: string;
}

const SPKI_P256_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const UNCOMPRESSED_HEX = /^04[0-9a-f]{128}$/u;

/** Why `hex` is not a P-256 public key, or undefined when it is one. */
export function publicKeyProblem(hex: string): string | undefined {
  if (!UNCOMPRESSED_HEX.test(hex)) return 'identityPublicKey is not an uncompressed P-256 key (04 || X || Y, 130 hex digits)';
  try {
    createPublicKey({ key: Buffer.concat([SPKI_P256_PREFIX, Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });
    return undefined;
  } catch {
    return 'identityPublicKey is not a point on the P-256 curve';
  }
}

interface AttemptState {
  intentLine?: number;
  resultLine?: number;
  facts: Record<string, unknown>;
}

const SAME_ACROSS_ATTEMPT = ['deviceId', 'probeSerial', 'chip', 'identityPublicKey', 'instanceId'] as const;

export class MeaningChecker {
  readonly problems: RecordProblem[] = [];
  problemCount = 0;
  private readonly attempts = new Map<string, AttemptState>();
  private readonly keyOwner = new Map<string, string>();
  private readonly keyChecked = new Map<string, string | undefined>();

  constructor(private readonly maxProblems = 20) {}

  private problem(line: number, record: ProvisioningRecord, reason: string): void {
    this.problemCount++;
    if (this.problems.length < this.maxProblems) this.problems.push({ line, attempt: record.attempt, reason });
  }

  check(record: ProvisioningRecord, line: number): void {
    const key = record.identityPublicKey;
    if (key !== undefined) {
      if (typeof key !== 'string') this.problem(line, record, 'identityPublicKey is not a string');
      else this.checkKey(record, key, line);
    } else if (record.instanceId !== undefined) {
      this.problem(line, record, 'instanceId without the identityPublicKey it derives from');
    }

    let state = this.attempts.get(record.attempt);
    if (state === undefined) {
      state = { facts: {} };
      this.attempts.set(record.attempt, state);
    }
    if (record.type === 'intent') {
      if (state.intentLine !== undefined) this.problem(line, record, `attempt ID reused: a second intent (first on line ${state.intentLine})`);
      else if (state.resultLine !== undefined) this.problem(line, record, `intent after the attempt's result (line ${state.resultLine})`);
      state.intentLine ??= line;
    } else {
      if (state.resultLine !== undefined) this.problem(line, record, `attempt ID reused: a second result (first on line ${state.resultLine})`);
      state.resultLine ??= line;
      if (state.intentLine === undefined && (record.wroteDevice === true || record.outcome === 'provisioned')) {
        this.problem(line, record, `result "${record.outcome}"${record.wroteDevice ? ' that wrote the device' : ''} with no intent before it`);
      }
    }
    const facts = record as unknown as Record<string, unknown>;
    for (const name of SAME_ACROSS_ATTEMPT) {
      const value = facts[name];
      if (value === undefined) continue;
      const before = state.facts[name];
      if (before !== undefined && before !== value) this.problem(line, record, `${name} differs from the attempt's earlier record (${String(before)} vs ${String(value)})`);
      else state.facts[name] = value;
    }
  }

  private checkKey(record: ProvisioningRecord, key: string, line: number): void {
    if (!this.keyChecked.has(key)) this.keyChecked.set(key, publicKeyProblem(key));
    const keyProblem = this.keyChecked.get(key);
    if (keyProblem !== undefined) {
      this.problem(line, record, keyProblem);
      return;
    }
    if (record.instanceId !== undefined) {
      const formula = (record as unknown as { instanceIdFormula?: unknown }).instanceIdFormula ?? '2.1';
      if (!isInstanceIdFormula(formula)) this.problem(line, record, `unknown instanceIdFormula ${JSON.stringify(formula)}`);
      else if (record.instanceId !== instanceIdUnder(Buffer.from(key, 'hex'), formula)) {
        this.problem(line, record, `instanceId does not match identityPublicKey under formula ${formula}`);
      }
    }
    if (record.deviceId !== undefined) {
      const owner = this.keyOwner.get(key);
      if (owner !== undefined && owner !== record.deviceId) this.problem(line, record, `identity key already recorded for device ${owner}, now for ${record.deviceId}`);
      else this.keyOwner.set(key, record.deviceId);
    }
  }
}
