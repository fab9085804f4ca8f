/**
 * Registry export: one row per device that was provisioned and verified, with the public facts a
 * device registry imports (device ID, identity public key, instance ID). A device that appears
 * more than once keeps its latest verified result.
 */
import type { ProvisioningRecord, ResultRecord } from './format';

export const CSV_COLUMNS = ['device_id', 'identity_public_key', 'instance_id', 'chip', 'implementation_id', 'provisioned_at', 'probe_serial', 'instance_id_formula'] as const;

export interface RegistryRow {
  deviceId: string;
  identityPublicKey: string;
  instanceId: string;
  chip: string;
  implementationId: string;
  provisionedAt: string;
  probeSerial: number;
  /** TF-M formula of instanceId ('2.1' for records written before the field existed). */
  instanceIdFormula: '2.1' | '2.2';
}

/** Verified results that carry an identity key, latest per device ID, in first-seen order. */
export function registryRows(records: Iterable<ProvisioningRecord>): RegistryRow[] {
  const rows = new Map<string, RegistryRow>();
  for (const record of records) {
    if (record.type !== 'result') continue;
    const result = record as ResultRecord;
    if (!result.verified || (result.outcome !== 'provisioned' && result.outcome !== 'alreadyProvisioned')) continue;
    if (result.deviceId === undefined || result.identityPublicKey === undefined) continue;
    rows.set(result.deviceId, {
      deviceId: result.deviceId,
      identityPublicKey: result.identityPublicKey,
      instanceId: result.instanceId ?? '',
      chip: result.chip ?? '',
      implementationId: result.implementationId ?? '',
      provisionedAt: result.finishedAt,
      probeSerial: result.probeSerial,
      instanceIdFormula: result.instanceIdFormula ?? '2.1',
    });
  }
  return [...rows.values()];
}

/**
 * One CSV field. A cell that starts with = + - @, a tab or a carriage return is a formula to a
 * spreadsheet; the OWASP "CSV Injection" guidance (after the vendors' advisories) is to prefix it
 * with a single quote so the cell is text. Quoting alone does not help: the spreadsheet removes the
 * quotes and still evaluates the cell. Then RFC 4180 quoting for commas, quotes and line breaks.
 */
export function csvField(value: string | number): string {
  let text = String(value);
  if (/^[=+\-@\t\r]/u.test(text)) text = `'${text}`;
  if (/[",\r\n]/u.test(text)) return `"${text.replace(/"/g, '""')}"`;
  return text;
}

export function toCsv(rows: RegistryRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of rows) {
    lines.push(
      [row.deviceId, row.identityPublicKey, row.instanceId, row.chip, row.implementationId, row.provisionedAt, row.probeSerial, row.instanceIdFormula].map(csvField).join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
