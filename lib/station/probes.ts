/**
 * Probe selection never guesses: one probe connected and no --snr is the only case where the
 * serial may be left out. Several probes and no --snr is PROBE_SELECTION_REQUIRED; a serial that
 * is not connected is PROBE_NOT_FOUND, and both messages list the probes that are present.
 */
import { TfmError } from '../errors';
import type { ProbeBinding, ProbeInfo } from '../probe/types';

function present(probes: ProbeInfo[]): string {
  return probes.length === 0 ? 'none' : probes.map((p) => String(p.serialNumber)).join(', ');
}

async function listProbes(binding: ProbeBinding): Promise<ProbeInfo[]> {
  const probes = await binding.list();
  if (probes.length === 0) {
    throw new TfmError('NO_PROBES', 'No debug probe is connected. Check the USB cable and that no other program holds the probe.', {
      details: { backend: binding.backend },
    });
  }
  return probes;
}

/** Parses a serial number given on the command line (decimal, as J-Link and nrfjprog print it). */
export function parseSerialNumber(text: string): number {
  const trimmed = text.trim();
  if (!/^\d{1,10}$/.test(trimmed) || Number(trimmed) > 0xffffffff || Number(trimmed) === 0) {
    throw new TfmError('USAGE', `"${text}" is not a probe serial number (decimal digits, as \`tfm-provision list\` prints them).`);
  }
  return Number(trimmed);
}

/** Parses "A,B,C" into serial numbers; duplicates are a usage error (two workers on one probe). */
export function parseSerialList(text: string): number[] {
  const serials = text
    .split(',')
    .filter((part) => part.trim() !== '')
    .map(parseSerialNumber);
  if (serials.length === 0) throw new TfmError('USAGE', '--snr needs at least one serial number.');
  const duplicate = serials.find((s, i) => serials.indexOf(s) !== i);
  if (duplicate !== undefined) throw new TfmError('USAGE', `Probe ${duplicate} is named twice in --snr.`);
  return serials;
}

/** The one probe a single-device command works on. */
export async function selectProbe(binding: ProbeBinding, serialNumber?: number): Promise<ProbeInfo> {
  const probes = await listProbes(binding);
  if (serialNumber === undefined) {
    if (probes.length === 1) return probes[0] as ProbeInfo;
    throw new TfmError(
      'PROBE_SELECTION_REQUIRED',
      `${probes.length} probes are connected (${present(probes)}); choose one with --snr. Nothing was touched.`,
      { details: { present: probes.map((p) => p.serialNumber) } },
    );
  }
  const found = probes.find((p) => p.serialNumber === serialNumber);
  if (found === undefined) throw notFound([serialNumber], probes);
  return found;
}

/** The probes a station works on: the named ones (all must be present) or all of them. */
export async function selectProbes(binding: ProbeBinding, selection: { serialNumbers?: number[]; all?: boolean }): Promise<ProbeInfo[]> {
  if (selection.all === true && selection.serialNumbers !== undefined) {
    throw new TfmError('USAGE', 'Give either --snr or --all, not both.');
  }
  if (selection.all !== true && selection.serialNumbers === undefined) {
    throw new TfmError('PROBE_SELECTION_REQUIRED', 'Name the probes with --snr A,B,C, or use --all for every connected probe.');
  }
  const probes = await listProbes(binding);
  if (selection.all === true) return probes;
  const wanted = selection.serialNumbers ?? [];
  const missing = wanted.filter((s) => !probes.some((p) => p.serialNumber === s));
  if (missing.length > 0) throw notFound(missing, probes);
  return wanted.map((s) => probes.find((p) => p.serialNumber === s) as ProbeInfo);
}

function notFound(missing: number[], probes: ProbeInfo[]): TfmError {
  const which = missing.length === 1 ? `Probe ${missing[0]} is` : `Probes ${missing.join(', ')} are`;
  return new TfmError('PROBE_NOT_FOUND', `${which} not connected. Connected: ${present(probes)}.`, {
    details: { missing, present: probes.map((p) => p.serialNumber) },
  });
}
