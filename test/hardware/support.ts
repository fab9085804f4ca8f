/**
 * Shared by the hardware checks (docs/hardware-checks.md): which kit to use, from the environment,
 * and the JSON report each check adds its findings to. Nothing here runs under `npm test`.
 *
 *   TFM_PROVISION_HARDWARE_SNR          probe serial number (required; without it every check is skipped)
 *   TFM_PROVISION_HARDWARE_BACKEND      nrfjprog | jlink (default: auto)
 *   TFM_PROVISION_HARDWARE_LIBRARY      vendor library path (default: the backend's own search)
 *   TFM_PROVISION_HARDWARE_DESTRUCTIVE  "erase-my-device": also run the destructive checks
 *   TFM_PROVISION_HARDWARE_IMAGE        provisioning image (.hex) for the image-strategy check
 *   TFM_PROVISION_HARDWARE_NET_IMAGE    nRF5340 network-core provisioning image (optional)
 *   TFM_PROVISION_HARDWARE_REPORT       where the JSON report goes (default hardware-report.json)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NativeBinding, type NativeBackendName } from '../../lib/probe/native';
import type { ProbeSession } from '../../lib/probe/types';

export const serialNumber = process.env.TFM_PROVISION_HARDWARE_SNR ? Number(process.env.TFM_PROVISION_HARDWARE_SNR) : undefined;
export const backend = (process.env.TFM_PROVISION_HARDWARE_BACKEND ?? 'auto') as NativeBackendName;
export const destructive = process.env.TFM_PROVISION_HARDWARE_DESTRUCTIVE === 'erase-my-device';
export const imagePath = process.env.TFM_PROVISION_HARDWARE_IMAGE;
export const netImagePath = process.env.TFM_PROVISION_HARDWARE_NET_IMAGE;
const reportPath = path.resolve(process.env.TFM_PROVISION_HARDWARE_REPORT ?? 'hardware-report.json');

/** `describe` when a kit is configured, else `describe.skip` (the checks are listed as skipped). */
export const describeKit = serialNumber !== undefined && Number.isInteger(serialNumber) ? describe : describe.skip;
export const describeDestructive = describeKit === describe && destructive ? describe : describe.skip;

export function binding(): NativeBinding {
  return new NativeBinding({ backend, library: process.env.TFM_PROVISION_HARDWARE_LIBRARY || undefined });
}

export async function openKit(): Promise<ProbeSession> {
  return binding().open(serialNumber!);
}

export interface CheckRecord {
  /** Check id, as in docs/hardware-checks.md (H1, H2, ... D1, ...). */
  check: string;
  /** The UNVERIFIED facts (ids in docs/hardware-checks.md) this check settles. */
  facts: string[];
  ok: boolean;
  /** What the kit showed: values, not judgements. No key material is ever put here. */
  observed: Record<string, unknown>;
}

/** Adds one check's findings to the report file (read-modify-write: the files run one by one). */
export async function record(entry: CheckRecord): Promise<void> {
  let report: { generatedAt: string; serialNumber?: number; backend: string; library?: unknown; checks: CheckRecord[] };
  try {
    report = JSON.parse(fs.readFileSync(reportPath, 'utf8'));
  } catch {
    report = { generatedAt: new Date().toISOString(), serialNumber, backend, checks: [] };
  }
  if (report.library === undefined) {
    try {
      report.library = await binding().libraryInfo();
    } catch (error) {
      report.library = { error: (error as Error).message };
    }
  }
  report.checks = report.checks.filter((c) => c.check !== entry.check).concat(entry);
  fs.writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
}

export const hex = (value: number): string => `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
