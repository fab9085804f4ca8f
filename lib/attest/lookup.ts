/**
 * Where the verifier finds the key a token must be signed with: a lookup from instance ID to what the
 * station registered. The records provide one (recordsLookup); a registry can provide another with the
 * same shape.
 */
import { TfmError } from '../errors';
import type { ProvisioningRecord, ResultRecord } from '../records/format';
import { readRecords } from '../records/verify';
import { type InstanceIdFormula, instanceIdUnder, isInstanceIdFormula } from './instance-id';

export interface RegisteredDevice {
  /** Uncompressed SEC1 public key (0x04 || X || Y), the identity key the device was given. */
  identityPublicKey: Uint8Array;
  /** How the device's TF-M derives the instance ID from that key. Absent for an entry registered by
   *  instance ID alone (a trust store, or test vectors whose IDs are not derived from their key): the
   *  verifier then cannot check that the ID belongs to the key and says so. */
  instanceIdFormula?: InstanceIdFormula;
  /** Implementation ID (hex) written to the device, when the record has it. */
  implementationId?: string;
  deviceId?: string;
  chip?: string;
  /** The production lot the device was registered under (a registry's entries have one). */
  lot?: string;
  /** Where the entry came from, for messages: "records line1.jsonl", "registry postgresql://...". */
  source: string;
}

/** Instance ID as lowercase hex (33 bytes, 0x01 first) to the registered device, or undefined. */
export type AttestationLookup = (instanceId: string) => RegisteredDevice | undefined | Promise<RegisteredDevice | undefined>;

const HEX_KEY = /^04[0-9a-f]{128}$/;

/** Records written before the instance-ID formula was recorded used TF-M 2.1's formula. */
function formulaOf(record: ResultRecord): InstanceIdFormula {
  const named = (record as unknown as { instanceIdFormula?: unknown }).instanceIdFormula;
  return isInstanceIdFormula(named) ? named : '2.1';
}

export interface RecordsIndex {
  lookup: AttestationLookup;
  /** Devices indexed (latest verified result per device ID). */
  size: number;
  /** Results whose stored instance ID does not match their key under their formula: not indexed. */
  inconsistent: { deviceId?: string; instanceId?: string }[];
}

/**
 * Index verified results that carry an identity key (the records' registry view: a later verified
 * result for the same device replaces an earlier one). The instance ID is recomputed from the key under
 * the record's formula; a record whose stored instance ID disagrees is left out and reported.
 */
export function recordsLookup(records: Iterable<ProvisioningRecord>, source = 'records'): RecordsIndex {
  const byDevice = new Map<string, ResultRecord>();
  const anonymous: ResultRecord[] = [];
  for (const record of records) {
    if (record.type !== 'result') continue;
    if (!record.verified || (record.outcome !== 'provisioned' && record.outcome !== 'alreadyProvisioned')) continue;
    if (record.identityPublicKey === undefined || !HEX_KEY.test(record.identityPublicKey)) continue;
    if (record.deviceId === undefined) anonymous.push(record);
    else byDevice.set(record.deviceId, record);
  }
  const index = new Map<string, RegisteredDevice>();
  const inconsistent: RecordsIndex['inconsistent'] = [];
  for (const record of [...byDevice.values(), ...anonymous]) {
    const key = Uint8Array.from(Buffer.from(record.identityPublicKey!, 'hex'));
    const formula = formulaOf(record);
    const id = instanceIdUnder(key, formula);
    if (record.instanceId !== undefined && record.instanceId.toLowerCase() !== id) {
      inconsistent.push({ deviceId: record.deviceId, instanceId: record.instanceId });
      continue;
    }
    index.set(id, {
      identityPublicKey: key,
      instanceIdFormula: formula,
      implementationId: record.implementationId?.toLowerCase(),
      deviceId: record.deviceId,
      chip: record.chip,
      source,
    });
  }
  return { lookup: (instanceId) => index.get(instanceId.toLowerCase()), size: index.size, inconsistent };
}

/** recordsLookup over a record file (no chain check here: `records verify` does that). */
export async function recordsLookupFromFile(filePath: string): Promise<RecordsIndex> {
  return recordsLookup(await readRecords(filePath), `records ${filePath}`);
}

export type StaticEntry = Omit<RegisteredDevice, 'source'> & {
  /** Required when instanceIdFormula is absent; otherwise computed from the key. */
  instanceId?: string;
};

/** A lookup over explicit entries: keyed by the instance ID their key gives under their formula, or by
 *  the instance ID given with them. */
export function staticLookup(entries: StaticEntry[], source = 'static'): AttestationLookup {
  const index = new Map<string, RegisteredDevice>();
  for (const { instanceId, ...entry } of entries) {
    const id = entry.instanceIdFormula !== undefined ? instanceIdUnder(entry.identityPublicKey, entry.instanceIdFormula) : instanceId?.toLowerCase();
    if (id === undefined) throw new TfmError('INVALID_PARAMETER', 'A lookup entry needs an instanceIdFormula or an instanceId.');
    index.set(id, { ...entry, source });
  }
  return (instanceId) => index.get(instanceId.toLowerCase());
}

/**
 * What the verifier needs of a device registry: a device by the instance ID its TF-M attests with.
 * lib/registry's `Registry` (PgRegistry and any injected implementation) has this shape; it is named
 * here by shape so that lib/attest does not import the layer above it.
 */
export interface InstanceIdDirectory {
  /** Where it is, for messages (a registry URL without its password). */
  readonly description: string;
  deviceByInstanceId(instanceId: string): Promise<
    | {
        deviceId: string;
        chip: string;
        lot: string;
        identityPublicKey?: string;
        instanceIdFormula?: string;
        implementationId?: string;
      }
    | undefined
  >;
}

/**
 * A lookup over a device registry: the provisioned device with this instance ID, its identity key,
 * implementation ID and instance-ID formula as the registry holds them. A device without a usable
 * key (or one the registry does not hold as provisioned) is not registered for attestation. A formula
 * the registry names but this tool does not know is left out, so the verifier says it could not
 * re-derive the instance ID instead of guessing.
 */
export function registryLookup(directory: InstanceIdDirectory): AttestationLookup {
  const source = `registry ${directory.description}`;
  return async (instanceId) => {
    const device = await directory.deviceByInstanceId(instanceId.toLowerCase());
    if (device === undefined || device.identityPublicKey === undefined) return undefined;
    const key = device.identityPublicKey.toLowerCase();
    if (!HEX_KEY.test(key)) return undefined;
    return {
      identityPublicKey: Uint8Array.from(Buffer.from(key, 'hex')),
      instanceIdFormula: isInstanceIdFormula(device.instanceIdFormula) ? device.instanceIdFormula : undefined,
      implementationId: device.implementationId?.toLowerCase(),
      deviceId: device.deviceId,
      chip: device.chip,
      lot: device.lot,
      source,
    };
  };
}
