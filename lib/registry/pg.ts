/**
 * The registry on a PostgreSQL server, through node-postgres (`pg`) with a connection pool. `pg` is
 * loaded when the first PgRegistry is made, never at package load: a station without a registry
 * does not need it, and the package still loads where it is missing.
 *
 * Every statement a station runs is one call of a SECURITY DEFINER function (migrations.ts), or an
 * INSERT into attempts: one round trip, one transaction. Errors become TfmErrors with stable codes;
 * no message carries the URL's password.
 */
import * as os from 'node:os';
import { TfmError, type ErrorCode } from '../errors';
import type { InstanceIdFormula } from '../keys/instance-id';
import { BOOTSTRAP_SQL, MIGRATION_LOCK, MIGRATIONS, type Migration } from './migrations';
import type {
  Completion,
  CompletionRequest,
  DeviceState,
  LotInfo,
  LotStatus,
  QuotaState,
  Registry,
  RegistryDevice,
  Reservation,
  ReservationRequest,
  StationIdentity,
} from './types';
import { parseRegistryUrl, redactSecrets, redactUrl, urlSecrets } from './url';

type PgModule = typeof import('pg');
type Pool = import('pg').Pool;
type PoolClient = import('pg').PoolClient;

function loadPg(): PgModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require('pg') as PgModule;
  } catch (error) {
    throw new TfmError('REGISTRY_UNAVAILABLE', `A registry URL needs the node-postgres package ("pg"), which could not be loaded: ${(error as Error).message}. Install it with npm install pg.`, {
      cause: error,
    });
  }
}

/** SQLSTATE classes that mean the server is not there (or stopped being there). */
const UNAVAILABLE_STATES = /^(08|57P|53300)/;
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ENOENT']);

export interface PgRegistryOptions {
  /** Connections in the pool (default 4: a station's reservations are short transactions). */
  max?: number;
  /** How long to wait for a connection (default 5000 ms), then REGISTRY_UNAVAILABLE. */
  connectTimeoutMs?: number;
  /** How long one statement may take (default 15000 ms), then REGISTRY_UNAVAILABLE. */
  statementTimeoutMs?: number;
}

export class PgRegistry implements Registry {
  readonly description: string;
  private readonly pool: Pool;
  /** Every password the URL carries (userinfo, password= parameter): cut from driver messages. */
  private readonly secrets: string[];
  private closed = false;

  constructor(url: string, options: PgRegistryOptions = {}) {
    parseRegistryUrl(url);
    this.description = redactUrl(url);
    this.secrets = urlSecrets(url);
    const pg = loadPg();
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      query_timeout: options.statementTimeoutMs ?? 15000,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
      application_name: 'tfm-provision',
    });
    // A server that goes away while a connection is idle raises 'error' on the pool: without a
    // listener that would end the process. The next query reports REGISTRY_UNAVAILABLE instead.
    this.pool.on('error', () => undefined);
  }

  /** A TfmError for anything the driver or server threw; the password never appears. */
  private error(error: unknown, doing: string): TfmError {
    if (error instanceof TfmError) return error;
    const e = error as { code?: string; message?: string };
    const message = redactSecrets(e?.message ?? String(error), this.secrets);
    const sqlState = typeof e?.code === 'string' ? e.code : undefined;
    let code: ErrorCode = 'REGISTRY_ERROR';
    if (sqlState !== undefined && (UNAVAILABLE_STATES.test(sqlState) || NETWORK_ERRORS.has(sqlState))) code = 'REGISTRY_UNAVAILABLE';
    else if (sqlState === undefined && /timeout|terminat|connect|Connection/i.test(message)) code = 'REGISTRY_UNAVAILABLE';
    else if (sqlState === '42501') code = 'REGISTRY_PERMISSION_DENIED';
    else if (sqlState === '3F000' || sqlState === '42P01' || sqlState === '42883') code = 'REGISTRY_NOT_MIGRATED';
    else if (sqlState === '23505') code = 'DEVICE_ALREADY_REGISTERED';
    const hint =
      code === 'REGISTRY_NOT_MIGRATED'
        ? ' Run `tfm-provision registry migrate` with an owner role first.'
        : code === 'REGISTRY_PERMISSION_DENIED'
          ? ' This database role lacks the privilege: grant it tfm_registry_station (stations) or tfm_registry_admin (lots, reap, import).'
          : '';
    return new TfmError(code, `Registry ${this.description}: ${doing} failed: ${message}.${hint}`, { details: { registry: this.description, ...(sqlState ? { sqlState } : {}) } });
  }

  private async query<R extends Record<string, unknown>>(doing: string, text: string, values: unknown[] = []): Promise<R[]> {
    if (this.closed) throw new TfmError('REGISTRY_UNAVAILABLE', `Registry ${this.description}: closed.`);
    try {
      return (await this.pool.query(text, values)).rows as R[];
    } catch (error) {
      throw this.error(error, doing);
    }
  }

  /** Runs `body` in one transaction on one connection. */
  private async transaction<T>(doing: string, body: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.error(error, doing);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const value = await body(client);
      await client.query('COMMIT');
      return value;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw this.error(error, doing);
    } finally {
      client.release(broken);
    }
  }

  // ---- schema ----

  /** Applies the migrations this database lacks; returns the versions applied (none when current). */
  async migrate(): Promise<{ applied: Migration[]; version: number }> {
    return this.transaction('migrate', async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(BOOTSTRAP_SQL);
      const done = new Set((await client.query('SELECT version FROM tfm_registry.schema_migrations')).rows.map((r: { version: number }) => r.version));
      const applied: Migration[] = [];
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        await client.query(m.sql);
        await client.query('INSERT INTO tfm_registry.schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        applied.push(m);
      }
      return { applied, version: Math.max(0, ...MIGRATIONS.map((m) => m.version)) };
    });
  }

  /** The schema version of the database (0: none). */
  async schemaVersion(): Promise<number> {
    try {
      const rows = await this.query<{ v: number | null }>('read the schema version', 'SELECT max(version) AS v FROM tfm_registry.schema_migrations');
      return rows[0]?.v ?? 0;
    } catch (error) {
      if (error instanceof TfmError && error.code === 'REGISTRY_NOT_MIGRATED') return 0;
      throw error;
    }
  }

  // ---- the station's calls ----

  async registerStation(station: StationIdentity): Promise<void> {
    await this.query('register the station', 'SELECT tfm_registry.touch_station($1, $2, $3, $4)', [station.stationId, station.host, station.toolVersion, station.signingPublicKey ?? null]);
  }

  async quota(lot: string): Promise<QuotaState> {
    const rows = await this.query<{ quota: number; used: number; reserved: number }>('read the quota', 'SELECT quota, used, reserved FROM tfm_registry.lots WHERE name = $1', [lot]);
    if (rows.length === 0) throw lotNotFound(lot, this.description);
    return quotaState(rows[0]!);
  }

  async reserve(r: ReservationRequest): Promise<Reservation> {
    const rows = await this.query<{ status: string; resumed: boolean; quota: number; used: number; reserved: number }>(
      'reserve quota',
      'SELECT * FROM tfm_registry.reserve_device($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
      [r.lot, r.attempt, r.chip, r.deviceId, r.station, r.probeSerial, r.implementationId, r.identityPublicKey ?? null, r.instanceId ?? null, r.instanceIdFormula ?? null, JSON.stringify(r.intent)],
    );
    const row = rows[0]!;
    const quota = quotaState(row);
    const status = row.status;
    if (status === 'OK') return { lot: r.lot, resumed: row.resumed, quota };
    const details = { registry: this.description, lot: r.lot, deviceId: r.deviceId, ...quota };
    if (status === 'LOT_NOT_FOUND') throw lotNotFound(r.lot, this.description);
    if (status === 'QUOTA_EXHAUSTED') {
      throw new TfmError('QUOTA_EXHAUSTED', `Lot ${r.lot} has no quota left (${quota.used} used, ${quota.reserved} reserved of ${quota.quota}): nothing was written to device ${r.deviceId}.`, { details });
    }
    if (status === 'CHIP_MISMATCH') throw new TfmError('CHIP_MISMATCH', `Lot ${r.lot} is not for this chip (${r.chip}): nothing was written.`, { details });
    if (status === 'PUBLIC_KEY_ALREADY_REGISTERED') {
      throw new TfmError('DEVICE_ALREADY_REGISTERED', `The identity public key of this run is already registered to another device: nothing was written to device ${r.deviceId}.`, {
        details: { ...details, publicKey: true },
      });
    }
    if (status.startsWith('DEVICE_ALREADY_REGISTERED')) {
      const [, state, lot, station] = status.split(':');
      const held = state === 'reserved' ? `reserved by station ${station || 'unknown'} in lot ${lot} (if that station died, \`registry reap\` releases it)` : `${state} in lot ${lot}`;
      throw new TfmError('DEVICE_ALREADY_REGISTERED', `Device ${r.chip} ${r.deviceId} is already registered: ${held}. Nothing was written.`, {
        details: { ...details, state, registeredLot: lot, station: station || undefined },
      });
    }
    throw new TfmError('REGISTRY_ERROR', `Registry ${this.description}: unexpected reservation status ${status}.`, { details });
  }

  async begin(attempt: string): Promise<void> {
    const rows = await this.query<{ ok: boolean }>('mark the write', 'SELECT tfm_registry.begin_write($1) AS ok', [attempt]);
    if (rows[0]?.ok !== true) throw new TfmError('REGISTRY_ERROR', `Registry ${this.description}: attempt ${attempt} holds no reservation (reaped?): nothing was written.`);
  }

  async release(attempt: string): Promise<void> {
    await this.query('release the reservation', 'SELECT tfm_registry.release_reservation($1)', [attempt]);
  }

  async complete(c: CompletionRequest): Promise<Completion> {
    const rows = await this.query<{ state: DeviceState | null; applied: boolean; lot: string | null }>(
      'complete the attempt',
      'SELECT * FROM tfm_registry.complete_attempt($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)',
      [
        c.attempt,
        c.outcome,
        c.verified,
        c.wroteDevice,
        c.identityPublicKey ?? null,
        c.instanceId ?? null,
        c.instanceIdFormula ?? null,
        c.errorCode ?? null,
        JSON.stringify(c.result),
        c.station ?? null,
        c.chip ?? null,
        c.deviceId ?? null,
        c.lot ?? null,
        c.probeSerial ?? null,
      ],
    );
    const row = rows[0]!;
    const lot = row.lot ?? c.lot;
    let quota: QuotaState | undefined;
    if (lot !== undefined && lot !== null) quota = await this.quota(lot).catch(() => undefined);
    return { state: row.state ?? undefined, applied: row.applied, ...(quota ? { quota } : {}) };
  }

  async device(chip: string, deviceId: string): Promise<RegistryDevice | undefined> {
    const rows = await this.query<DeviceRow>('look up the device', `${DEVICE_SELECT} WHERE chip = $1 AND device_id = $2`, [chip, deviceId]);
    return rows[0] && deviceOf(rows[0]);
  }

  async deviceByInstanceId(instanceId: string): Promise<RegistryDevice | undefined> {
    const rows = await this.query<DeviceRow>('look up the instance ID', `${DEVICE_SELECT} WHERE instance_id = $1 AND state = 'provisioned' ORDER BY completed_at DESC LIMIT 1`, [instanceId.toLowerCase()]);
    return rows[0] && deviceOf(rows[0]);
  }

  // ---- administration ----

  async createLot(lot: { name: string; chip: string; quota: number; implementationId?: string; instanceIdFormula?: InstanceIdFormula }): Promise<LotInfo> {
    try {
      const rows = await this.query<LotRow>(
        'create the lot',
        'INSERT INTO tfm_registry.lots (name, chip, quota, implementation_id, instance_id_formula) VALUES ($1, $2, $3, $4, $5) RETURNING *',
        [lot.name, lot.chip, lot.quota, lot.implementationId ?? null, lot.instanceIdFormula ?? null],
      );
      return lotOf(rows[0]!);
    } catch (error) {
      if (error instanceof TfmError && error.code === 'DEVICE_ALREADY_REGISTERED') throw new TfmError('LOT_EXISTS', `Lot ${lot.name} exists already.`, { details: { lot: lot.name } });
      if (error instanceof TfmError && (error.details as { sqlState?: string } | undefined)?.sqlState === '23514') {
        throw new TfmError('USAGE', `Lot name "${lot.name}" or quota ${lot.quota} is not allowed (names: letters, digits, . _ -, up to 64; quota >= 0).`);
      }
      throw error;
    }
  }

  async lots(): Promise<LotInfo[]> {
    return (await this.query<LotRow>('list the lots', 'SELECT * FROM tfm_registry.lots ORDER BY name')).map(lotOf);
  }

  async status(lot?: string): Promise<LotStatus[]> {
    const lots = await this.query<LotRow>('read the lots', `SELECT * FROM tfm_registry.lots ${lot !== undefined ? 'WHERE name = $1' : ''} ORDER BY name`, lot !== undefined ? [lot] : []);
    if (lot !== undefined && lots.length === 0) throw lotNotFound(lot, this.description);
    const counts = await this.query<{ lot: string; station: string | null; state: DeviceState; n: string }>(
      'count the devices',
      `SELECT lot, station, state, count(*) AS n FROM tfm_registry.devices ${lot !== undefined ? 'WHERE lot = $1' : ''} GROUP BY lot, station, state ORDER BY lot, station`,
      lot !== undefined ? [lot] : [],
    );
    return lots.map((row) => {
      const info = lotOf(row);
      const mine = counts.filter((c) => c.lot === info.name);
      const stations = new Map<string, LotStatus['stations'][number]>();
      let partial = 0;
      let failed = 0;
      for (const c of mine) {
        const name = c.station ?? '';
        const s = stations.get(name) ?? { station: name, provisioned: 0, reserved: 0, partial: 0, failed: 0 };
        s[c.state] += Number(c.n);
        stations.set(name, s);
        if (c.state === 'partial') partial += Number(c.n);
        if (c.state === 'failed') failed += Number(c.n);
      }
      return { ...info, ...quotaState(row), partial, failed, stations: [...stations.values()] };
    });
  }

  /** Devices of one lot (or all), for export. */
  async devices(options: { lot?: string; states?: DeviceState[] } = {}): Promise<RegistryDevice[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (options.lot !== undefined) {
      values.push(options.lot);
      where.push(`lot = $${values.length}`);
    }
    if (options.states !== undefined) {
      values.push(options.states);
      where.push(`state = ANY($${values.length})`);
    }
    const rows = await this.query<DeviceRow>('list the devices', `${DEVICE_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY lot, chip, device_id`, values);
    return rows.map(deviceOf);
  }

  /** Reservations older than `olderThanMs` that no station finished: released, or partial when written. */
  async reap(olderThanMs: number, lot?: string): Promise<Array<{ chip: string; deviceId: string; lot: string; attempt: string; state: DeviceState }>> {
    const rows = await this.query<{ chip: string; device_id: string; lot: string; attempt: string; state: DeviceState }>(
      'reap reservations',
      'SELECT * FROM tfm_registry.reap(make_interval(secs => $1), $2)',
      [olderThanMs / 1000, lot ?? null],
    );
    return rows.map((r) => ({ chip: r.chip, deviceId: r.device_id, lot: r.lot, attempt: r.attempt, state: r.state }));
  }

  /** One verified device from existing records (registry import); the status says what happened. */
  async importDevice(d: {
    lot: string;
    attempt: string;
    chip: string;
    deviceId: string;
    station?: string;
    probeSerial: number;
    implementationId?: string;
    identityPublicKey: string;
    instanceId?: string;
    instanceIdFormula?: InstanceIdFormula;
    intent?: Record<string, unknown>;
    result: Record<string, unknown>;
  }): Promise<string> {
    const rows = await this.query<{ status: string }>('import a device', 'SELECT tfm_registry.import_device($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) AS status', [
      d.lot,
      d.attempt,
      d.chip,
      d.deviceId,
      d.station ?? null,
      d.probeSerial,
      d.implementationId ?? null,
      d.identityPublicKey,
      d.instanceId ?? null,
      d.instanceIdFormula ?? null,
      d.intent === undefined ? null : JSON.stringify(d.intent),
      JSON.stringify(d.result),
    ]);
    return rows[0]!.status;
  }

  /** The signing public key (PEM) a station registered under this key ID, or undefined. */
  async stationPublicKey(stationId: string): Promise<string | undefined> {
    const rows = await this.query<{ k: string | null }>('read the station key', 'SELECT signing_public_key AS k FROM tfm_registry.stations WHERE station_id = $1', [stationId]);
    return rows[0]?.k ?? undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end().catch(() => undefined);
  }
}

const DEVICE_SELECT = `SELECT chip, device_id, lot, state, identity_public_key, instance_id, instance_id_formula, implementation_id, station, probe_serial, attempt, reserved_at, completed_at FROM tfm_registry.devices`;

interface DeviceRow extends Record<string, unknown> {
  chip: string;
  device_id: string;
  lot: string;
  state: DeviceState;
  identity_public_key: string | null;
  instance_id: string | null;
  instance_id_formula: InstanceIdFormula | null;
  implementation_id: string | null;
  station: string | null;
  probe_serial: string | number | null;
  attempt: string;
  reserved_at: Date | null;
  completed_at: Date | null;
}

interface LotRow extends Record<string, unknown> {
  name: string;
  chip: string;
  quota: number;
  used: number;
  reserved: number;
  implementation_id: string | null;
  instance_id_formula: InstanceIdFormula | null;
  created: Date;
}

function deviceOf(r: DeviceRow): RegistryDevice {
  return {
    chip: r.chip,
    deviceId: r.device_id,
    lot: r.lot,
    state: r.state,
    ...(r.identity_public_key !== null ? { identityPublicKey: r.identity_public_key } : {}),
    ...(r.instance_id !== null ? { instanceId: r.instance_id } : {}),
    ...(r.instance_id_formula !== null ? { instanceIdFormula: r.instance_id_formula } : {}),
    ...(r.implementation_id !== null ? { implementationId: r.implementation_id } : {}),
    ...(r.station !== null ? { station: r.station } : {}),
    ...(r.probe_serial !== null ? { probeSerial: Number(r.probe_serial) } : {}),
    attempt: r.attempt,
    ...(r.reserved_at !== null ? { reservedAt: r.reserved_at.toISOString() } : {}),
    ...(r.completed_at !== null ? { completedAt: r.completed_at.toISOString() } : {}),
  };
}

function lotOf(r: LotRow): LotInfo {
  return {
    name: r.name,
    chip: r.chip,
    quota: r.quota,
    ...(r.implementation_id !== null ? { implementationId: r.implementation_id } : {}),
    ...(r.instance_id_formula !== null ? { instanceIdFormula: r.instance_id_formula } : {}),
    created: r.created.toISOString(),
  };
}

function quotaState(r: { quota: number; used: number; reserved: number }): QuotaState {
  return { quota: r.quota, used: r.used, reserved: r.reserved, left: r.quota - r.used - r.reserved };
}

function lotNotFound(lot: string, registry: string): TfmError {
  return new TfmError('LOT_NOT_FOUND', `No lot "${lot}" in the registry ${registry} (create it with \`tfm-provision registry lot create ${lot} --chip CHIP --quota N\`): nothing was written.`, {
    details: { lot, registry },
  });
}

/** A station's identity: its key ID when it signs its records, else the host name. */
export function stationIdentity(options: { keyId?: string; publicKeyPem?: string; toolVersion: string }): StationIdentity {
  return { stationId: options.keyId ?? `host:${os.hostname()}`, host: os.hostname(), toolVersion: options.toolVersion, signingPublicKey: options.publicKeyPem };
}
