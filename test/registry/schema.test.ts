/**
 * The registry schema on a real PostgreSQL server (test/support/postgres.ts): migrations apply
 * once, the station role cannot rewrite a device or an attempt, reservations never spend a unit
 * twice under concurrency, duplicates are refused.
 */
import { PgRegistry, MIGRATIONS } from '../../lib/registry';
import { TfmError } from '../../lib/errors';
import { pgTest, startPostgres, type PostgresServer } from '../support/postgres';

let server: PostgresServer | undefined;
let admin: PgRegistry;

beforeAll(async () => {
  server = await startPostgres();
  if (server === undefined) return;
  admin = new PgRegistry(server.adminUrl);
  await server.sql(`CREATE ROLE line1 LOGIN; CREATE ROLE line2 LOGIN; CREATE ROLE boss LOGIN;`);
}, 60_000);

afterAll(async () => {
  await admin?.close();
  await server?.destroy();
});

const pgIt = (name: string, body: () => Promise<void>, timeout?: number): void => pgTest(() => server, name, body, timeout);

function reservation(lot: string, deviceId: string, attempt: string, extra: Record<string, unknown> = {}) {
  return { lot, attempt, chip: 'nrf5340', deviceId, station: 'station-a', probeSerial: 1, implementationId: 'aa'.repeat(32), intent: { attempt }, ...extra };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as TfmError).code;
  }
}

describe('registry schema', () => {
  pgIt('migrate applies every version once; a second migrate applies nothing', async () => {
    const first = await admin.migrate();
    expect(first.applied.map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version));
    const second = await admin.migrate();
    expect(second.applied).toEqual([]);
    expect(await admin.schemaVersion()).toBe(MIGRATIONS.length);
    await server!.sql(`GRANT tfm_registry_station TO line1, line2; GRANT tfm_registry_admin TO boss;`);
  });

  pgIt('the station role may reserve and complete, and cannot update or delete devices or attempts (42501)', async () => {
    const boss = new PgRegistry(server!.url('boss'));
    await boss.createLot({ name: 'perm', chip: 'nrf5340', quota: 3 });
    await boss.close();
    const station = new PgRegistry(server!.url('line1'));
    try {
      await station.reserve(reservation('perm', 'D1', 'att-perm-1'));
      await station.begin('att-perm-1');
      const done = await station.complete({ attempt: 'att-perm-1', outcome: 'provisioned', verified: true, wroteDevice: true, identityPublicKey: '04' + '11'.repeat(64), result: { outcome: 'provisioned' } });
      expect(done.state).toBe('provisioned');
      const { Client } = await import('pg');
      const client = new Client({ connectionString: server!.url('line1') });
      await client.connect();
      const attempts: Array<[string, string]> = [
        ['UPDATE devices', `UPDATE tfm_registry.devices SET state = 'failed'`],
        ['DELETE devices', `DELETE FROM tfm_registry.devices`],
        ['UPDATE attempts', `UPDATE tfm_registry.attempts SET result = NULL`],
        ['DELETE attempts', `DELETE FROM tfm_registry.attempts`],
        ['UPDATE lots', `UPDATE tfm_registry.lots SET quota = 1000`],
        ['reap', `SELECT * FROM tfm_registry.reap('0 s', NULL)`],
        ['move_unit', `SELECT tfm_registry.move_unit('perm', 'provisioned', 'failed')`],
      ];
      try {
        for (const [what, sql] of attempts) {
          const code = await client.query(sql).then(
            () => 'succeeded',
            (e: { code?: string }) => e.code,
          );
          expect([what, code]).toEqual([what, '42501']);
        }
      } finally {
        await client.end();
      }
      expect((await server!.sql(`SELECT state FROM tfm_registry.devices WHERE device_id = 'D1'`))[0]!.state).toBe('provisioned');
      expect(await codeOf(station.createLot({ name: 'nope', chip: 'nrf5340', quota: 1 }))).toBe('REGISTRY_PERMISSION_DENIED');
      // Another station's role cannot complete (nor begin) this role's reservation.
      await station.reserve(reservation('perm', 'D2', 'att-perm-2'));
      const other = new PgRegistry(server!.url('line2'));
      try {
        expect(await codeOf(other.begin('att-perm-2'))).toBe('REGISTRY_ERROR');
        const forged = { attempt: 'att-perm-2', outcome: 'provisioned', verified: true, wroteDevice: true, result: {} };
        expect(await codeOf(other.complete(forged))).toBe('REGISTRY_PERMISSION_DENIED');
      } finally {
        await other.close();
      }
      expect((await server!.sql(`SELECT state FROM tfm_registry.devices WHERE device_id = 'D2'`))[0]!.state).toBe('reserved');
    } finally {
      await station.close();
    }
  });

  pgIt('200 concurrent reservations from two stations against quota 40 spend exactly 40 units', async () => {
    await admin.createLot({ name: 'race', chip: 'nrf5340', quota: 40 });
    const a = new PgRegistry(server!.url('line1'), { max: 8 });
    const b = new PgRegistry(server!.url('line2'), { max: 8 });
    try {
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          codeOf((i % 2 ? a : b).reserve(reservation('race', `R${i}`, `att-race-${i}`, { station: i % 2 ? 'a' : 'b' }))),
        ),
      );
      expect(results.filter((c) => c === undefined)).toHaveLength(40);
      expect(results.filter((c) => c === 'QUOTA_EXHAUSTED')).toHaveLength(160);
      expect(await admin.quota('race')).toEqual({ quota: 40, used: 0, reserved: 40, left: 0 });
      const [row] = await server!.sql(`SELECT count(*)::int AS n FROM tfm_registry.devices WHERE lot = 'race' AND state = 'reserved'`);
      expect(row!.n).toBe(40);
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);

  pgIt('a device ID registered by one station, or a public key of another device, is refused; the lot keeps its units', async () => {
    await admin.createLot({ name: 'dup', chip: 'nrf5340', quota: 10 });
    const key = '04' + '22'.repeat(64);
    await admin.reserve(reservation('dup', 'X1', 'att-dup-1', { identityPublicKey: key }));
    // Held by station-a: another station may not take it over.
    expect(await codeOf(admin.reserve(reservation('dup', 'X1', 'att-dup-2', { station: 'station-b' })))).toBe('DEVICE_ALREADY_REGISTERED');
    // The same station's next run on that device (the first one died) resumes it: no second unit.
    expect(await admin.reserve(reservation('dup', 'X1', 'att-dup-1b', { identityPublicKey: key }))).toMatchObject({ resumed: true, quota: { used: 0, reserved: 1 } });
    // The dead run's attempt holds nothing any more.
    expect(await codeOf(admin.begin('att-dup-1'))).toBe('REGISTRY_ERROR');
    await admin.begin('att-dup-1b');
    await admin.complete({ attempt: 'att-dup-1b', outcome: 'provisioned', verified: true, wroteDevice: true, result: {} });
    expect(await codeOf(admin.reserve(reservation('dup', 'X1', 'att-dup-3')))).toBe('DEVICE_ALREADY_REGISTERED');
    expect(await codeOf(admin.reserve(reservation('dup', 'X2', 'att-dup-4', { identityPublicKey: key, station: 'station-b' })))).toBe('DEVICE_ALREADY_REGISTERED');
    expect(await admin.quota('dup')).toEqual({ quota: 10, used: 1, reserved: 0, left: 9 });
    // Concurrent first reservations of one device ID: one wins, the other is refused, one unit spent.
    const codes = await Promise.all([0, 1].map((i) => codeOf(admin.reserve(reservation('dup', 'X3', `att-dup-race-${i}`, { station: `s${i}` })))));
    expect(codes.sort()).toEqual(['DEVICE_ALREADY_REGISTERED', undefined].sort());
    expect(await admin.quota('dup')).toEqual({ quota: 10, used: 1, reserved: 1, left: 8 });
  });

  pgIt('reap releases unwritten reservations, keeps written ones as partial; the next run resumes without a new unit', async () => {
    await admin.createLot({ name: 'reap', chip: 'nrf5340', quota: 2 });
    await admin.reserve(reservation('reap', 'P1', 'att-reap-1'));
    await admin.reserve(reservation('reap', 'P2', 'att-reap-2'));
    await admin.begin('att-reap-2');
    expect(await codeOf(admin.reserve(reservation('reap', 'P3', 'att-reap-3')))).toBe('QUOTA_EXHAUSTED');
    expect((await admin.reap(60_000, 'reap')).length).toBe(0);
    const reaped = await admin.reap(0, 'reap');
    expect(reaped.map((r) => [r.deviceId, r.state])).toEqual([
      ['P1', 'failed'],
      ['P2', 'partial'],
    ]);
    expect(await admin.quota('reap')).toEqual({ quota: 2, used: 1, reserved: 0, left: 1 });
    // The partial device's next run resumes its unit; the released one needs a new unit.
    expect((await admin.reserve(reservation('reap', 'P2', 'att-reap-4'))).resumed).toBe(true);
    expect(await admin.quota('reap')).toEqual({ quota: 2, used: 0, reserved: 1, left: 1 });
    expect((await admin.reserve(reservation('reap', 'P1', 'att-reap-5'))).resumed).toBe(false);
    expect(await codeOf(admin.reserve(reservation('reap', 'P3', 'att-reap-6')))).toBe('QUOTA_EXHAUSTED');
    // Completion is idempotent by attempt ID.
    const result = { attempt: 'att-reap-4', outcome: 'provisioned', verified: true, wroteDevice: true, result: { outcome: 'provisioned' } };
    expect((await admin.complete(result)).applied).toBe(true);
    expect((await admin.complete(result)).applied).toBe(false);
    expect(await admin.quota('reap')).toEqual({ quota: 2, used: 1, reserved: 1, left: 0 });
  });

  pgIt('an unknown lot is LOT_NOT_FOUND; a server that is not there is REGISTRY_UNAVAILABLE without the password', async () => {
    expect(await codeOf(admin.reserve(reservation('no-such-lot', 'Z1', 'att-z-1')))).toBe('LOT_NOT_FOUND');
    const gone = new PgRegistry(`postgresql://line1:s3cret-pw@127.0.0.1:1/registry`, { connectTimeoutMs: 2000 });
    try {
      const error = await gone.quota('x').then(
        () => undefined,
        (e: TfmError) => e,
      );
      expect(error?.code).toBe('REGISTRY_UNAVAILABLE');
      expect(JSON.stringify({ m: error?.message, d: error?.toJSON() })).not.toContain('s3cret-pw');
      expect(gone.description).toBe('postgresql://line1:***@127.0.0.1:1/registry');
    } finally {
      await gone.close();
    }
  });
});
