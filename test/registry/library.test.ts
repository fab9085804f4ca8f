/**
 * The library's registry options: runStation({ registry, lot }) and provisionWithRegistry() with a
 * URL or with a Registry object (injected like a probe binding), on simulated devices against a
 * private PostgreSQL server.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PgRegistry, provisionWithRegistry, runStation, RecordWriter, type Registry } from '../../lib';
import { createSimFleet, createSimProbe } from '../../lib/testing';
import { pgTest, startPostgres, type PostgresServer } from '../support/postgres';

let server: PostgresServer | undefined;
let admin: PgRegistry;
let dir: string;

beforeAll(async () => {
  server = await startPostgres();
  if (server === undefined) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-registry-lib-'));
  admin = new PgRegistry(server.adminUrl);
  await admin.migrate();
  await admin.createLot({ name: 'LIB', chip: 'nrf5340', quota: 3 });
}, 60_000);

afterAll(async () => {
  await admin?.close();
  await server?.destroy();
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

const pgIt = (name: string, body: () => Promise<void>, timeout = 60_000): void => pgTest(() => server, name, body, timeout);

describe('registry options of the library', () => {
  pgIt('provisionWithRegistry with a URL: reserves, completes, reports the quota; a re-run consumes nothing', async () => {
    const { session, device } = await createSimProbe({ chip: 'nrf5340' });
    const records = await RecordWriter.open(path.join(dir, 'lib.jsonl'));
    try {
      const first = await provisionWithRegistry(session, { registry: server!.adminUrl, lot: 'LIB', records });
      expect(first.result.outcome).toBe('provisioned');
      expect(first.quota).toEqual({ quota: 3, used: 1, reserved: 0, left: 2 });
      expect(first.warning).toBeUndefined();
      const again = await provisionWithRegistry(session, { registry: server!.adminUrl, lot: 'LIB', records });
      expect(again.result.outcome).toBe('alreadyProvisioned');
      expect(await admin.quota('LIB')).toEqual({ quota: 3, used: 1, reserved: 0, left: 2 });
      const registered = await admin.device('nrf5340', device.dump().deviceId);
      expect(registered).toMatchObject({ state: 'provisioned', lot: 'LIB' });
      expect(registered!.identityPublicKey).toBe(first.result.ok && 'identityPublicKey' in first.result ? first.result.identityPublicKey?.hex : undefined);
      expect(await admin.deviceByInstanceId(registered!.instanceId!)).toMatchObject({ deviceId: device.dump().deviceId });
    } finally {
      await records.close();
      await session.close();
    }
  });

  pgIt('an injected Registry object that refuses: nothing is written, the refusal is the run result', async () => {
    const refusing: Registry = {
      description: 'test registry',
      registerStation: async () => undefined,
      quota: async () => ({ quota: 0, used: 0, reserved: 0, left: 0 }),
      reserve: async () => {
        const { TfmError } = await import('../../lib/errors');
        throw new TfmError('QUOTA_EXHAUSTED', 'no units');
      },
      begin: async () => undefined,
      release: async () => undefined,
      complete: async () => ({ applied: true }),
      deviceByInstanceId: async () => undefined,
      device: async () => undefined,
      close: async () => undefined,
    };
    const { session, device } = await createSimProbe({ chip: 'nrf5340' });
    const before = device.dumpHex({ withFlash: true });
    const run = await provisionWithRegistry(session, { registry: refusing, lot: 'any' });
    expect(run.result).toMatchObject({ outcome: 'refused', errorCode: 'QUOTA_EXHAUSTED', afterWrite: false });
    expect(device.dumpHex({ withFlash: true })).toBe(before);
    await session.close();
  });

  pgIt('runStation({ registry, lot }) with a Registry object counts every device against the lot', async () => {
    await admin.createLot({ name: 'LIB-ST', chip: 'nrf5340', quota: 2 });
    const fleet = createSimFleet({ count: 3 });
    const quotas: number[] = [];
    const summary = await runStation({
      binding: fleet.binding,
      serialNumbers: fleet.serialNumbers,
      records: path.join(dir, 'st.jsonl'),
      registry: admin,
      lot: 'LIB-ST',
      onEvent: (e) => {
        if (e.type === 'quota') quotas.push(e.left);
      },
    });
    expect(summary.counts).toMatchObject({ passed: 2, refused: 1 });
    expect(summary.devices.find((d) => d.outcome === 'refused')!.errorCode).toBe('QUOTA_EXHAUSTED');
    expect(summary.quota).toMatchObject({ lot: 'LIB-ST', used: 2, reserved: 0, left: 0 });
    expect(quotas[0]).toBe(2);
    // The station did not close the Registry object it was given.
    expect((await admin.quota('LIB-ST')).used).toBe(2);
  });
});
