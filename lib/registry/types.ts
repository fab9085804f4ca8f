/**
 * The device registry: many stations, one database, one production quota per lot (issue 17,
 * docs/registry.md). `Registry` is the contract a station works against, injected like the probe
 * binding: the station's `registry` option takes a URL (a PostgreSQL server through node-postgres,
 * PgRegistry) or any object implementing this interface (tests, custom flows, another database).
 *
 * A device's life in the registry:
 *
 *   reserve (one unit of the lot's quota, before the first write)  -> reserved
 *   begin   (the station is about to write: the local intent record is durable)
 *   complete(verified result)                                       -> provisioned (unit used)
 *   complete(failed before any write) / reap of an unwritten one     -> failed (unit released)
 *   complete(failed after a write)    / reap of a written one        -> partial (unit used)
 *
 * A device already `provisioned` in the registry is DEVICE_ALREADY_REGISTERED; a `reserved` one
 * held by the same station (a run that died) and a `partial` one are resumed by the next run on
 * that device without a second unit.
 */
import type { InstanceIdFormula } from '../keys/instance-id';

export type DeviceState = 'reserved' | 'provisioned' | 'failed' | 'partial';

/** Who is asking: one station (its signing key's ID is its identity). */
export interface StationIdentity {
  /** The station key's ID (records' keyId), or another stable name for an unsigned station. */
  stationId: string;
  host: string;
  toolVersion: string;
  /** The station key's public half (PEM), so records it signed can be checked later. */
  signingPublicKey?: string;
}

export interface ReservationRequest {
  lot: string;
  attempt: string;
  chip: string;
  deviceId: string;
  station: string;
  probeSerial: number;
  implementationId: string;
  /** Known before the write for the host strategy (the image strategy learns it at completion). */
  identityPublicKey?: string;
  instanceId?: string;
  instanceIdFormula?: InstanceIdFormula;
  /** The attempt's intent, with the same content as its intent record. */
  intent: Record<string, unknown>;
}

export interface Reservation {
  lot: string;
  /** True when the run took over a reservation (or a partial device) left by an earlier attempt: no new unit. */
  resumed: boolean;
  quota: QuotaState;
}

export interface QuotaState {
  quota: number;
  used: number;
  reserved: number;
  left: number;
}

/** The end of an attempt, with the same content as its result record. */
export interface CompletionRequest {
  attempt: string;
  outcome: string;
  verified: boolean;
  wroteDevice: boolean;
  chip?: string;
  deviceId?: string;
  identityPublicKey?: string;
  instanceId?: string;
  instanceIdFormula?: InstanceIdFormula;
  implementationId?: string;
  errorCode?: string;
  /** The result record's content (as written to the local records, or as it would be). */
  result: Record<string, unknown>;
  /** For attempts the registry has not seen (no reservation: refused, already provisioned). */
  station?: string;
  probeSerial?: number;
  lot?: string;
}

export interface Completion {
  /** The device's state after the completion, or undefined for an attempt with no device row. */
  state?: DeviceState;
  /** False when the attempt had already been completed (a replay). */
  applied: boolean;
  quota?: QuotaState;
}

/** What the registry knows about one device (the attestation verifier's lookup and exports). */
export interface RegistryDevice {
  chip: string;
  deviceId: string;
  lot: string;
  state: DeviceState;
  identityPublicKey?: string;
  instanceId?: string;
  instanceIdFormula?: InstanceIdFormula;
  implementationId?: string;
  station?: string;
  probeSerial?: number;
  attempt?: string;
  reservedAt?: string;
  completedAt?: string;
}

export interface LotInfo {
  name: string;
  chip: string;
  quota: number;
  implementationId?: string;
  instanceIdFormula?: InstanceIdFormula;
  created: string;
}

export interface LotStatus extends LotInfo, QuotaState {
  partial: number;
  failed: number;
  stations: Array<{ station: string; provisioned: number; reserved: number; partial: number; failed: number }>;
}

export interface Registry {
  /** Where it is, for messages: a URL without its password. */
  readonly description: string;
  /** Records (or refreshes) this station's row: host, tool version, key, last seen. */
  registerStation(station: StationIdentity): Promise<void>;
  /** The quota of a lot now (LOT_NOT_FOUND when there is none). */
  quota(lot: string): Promise<QuotaState>;
  /**
   * One unit of the lot's quota for this device, atomically (no double spend under concurrency),
   * with the attempt's intent. QUOTA_EXHAUSTED, LOT_NOT_FOUND, DEVICE_ALREADY_REGISTERED (also for
   * a public key another device has), REGISTRY_UNAVAILABLE.
   */
  reserve(request: ReservationRequest): Promise<Reservation>;
  /** The attempt is about to write to the device (after its local intent record is durable). */
  begin(attempt: string): Promise<void>;
  /** Releases a reservation whose run wrote nothing and will not (a failure between reserve and begin). */
  release(attempt: string, reason: string): Promise<void>;
  /** The attempt's result and its device's new state, in one transaction; idempotent by attempt ID. */
  complete(request: CompletionRequest): Promise<Completion>;
  /** A device by the instance ID its TF-M attests with (lowercase hex), or undefined. */
  deviceByInstanceId(instanceId: string): Promise<RegistryDevice | undefined>;
  /** A device by chip and device ID, or undefined. */
  device(chip: string, deviceId: string): Promise<RegistryDevice | undefined>;
  close(): Promise<void>;
}
