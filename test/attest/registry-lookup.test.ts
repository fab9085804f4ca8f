/**
 * `attest verify --registry URL`: the key comes from the device registry (lib/registry) instead of the
 * record file. Against a real PostgreSQL server (test/support/postgres.ts): a station provisions a
 * simulated device and registers it as a station does (reserve, begin, complete, as the station role),
 * the simulated TF-M boots and answers an attestation request, and the built CLI, run as a separate
 * process like a rig runs it, verifies the token with a login that may only read the devices table.
 *
 * The lookup's mapping and the option rules run without a server; the server cases fail in CI or with
 * TFM_PROVISION_REQUIRE_PG=1 when no server can start, and are skipped (one line) otherwise.
 */
import { promises as fsp } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { instanceIdUnder, registryLookup, verifyAttestationToken, type InstanceIdDirectory } from '../../lib/attest';
import { EXIT } from '../../lib/exit-codes';
import { runCli } from '../../lib/cli/program';
import { readRecords, type ResultRecord } from '../../lib/records';
import { PgRegistry, REGISTRY_ENV } from '../../lib/registry';
import { ensureBuilt, runCliProcess } from '../cli/support/cli';
import { captureIo } from '../cli/support/io';
import { startPostgres, type PostgresServer } from '../support/postgres';
import { newKeyPair, rfc9783Claims, signClaims, uncompressedOf } from './support';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('registryLookup (any object with deviceByInstanceId, as lib/registry\'s Registry has)', () => {
  const key = `04${'ab'.repeat(64)}`;
  const directory = (device: Awaited<ReturnType<InstanceIdDirectory['deviceByInstanceId']>>, asked: string[] = []): InstanceIdDirectory => ({
    description: 'postgresql://verifier:***@db/registry',
    deviceByInstanceId: async (id) => {
      asked.push(id);
      return device;
    },
  });

  it('maps the registry\'s device to what the verifier needs, asking by lowercase instance ID', async () => {
    const asked: string[] = [];
    const lookup = registryLookup(directory({ deviceId: 'D1', chip: 'nrf5340', lot: 'L1', identityPublicKey: key.toUpperCase(), instanceIdFormula: '2.2', implementationId: 'AA'.repeat(32) }, asked));
    const entry = await lookup(`01${'CD'.repeat(32)}`);
    expect(asked).toEqual([`01${'cd'.repeat(32)}`]);
    expect(entry).toEqual({
      identityPublicKey: Uint8Array.from(Buffer.from(key, 'hex')),
      instanceIdFormula: '2.2',
      implementationId: 'aa'.repeat(32),
      deviceId: 'D1',
      chip: 'nrf5340',
      lot: 'L1',
      source: 'registry postgresql://verifier:***@db/registry',
    });
  });

  it('a device without a usable identity key is not registered for attestation; an unknown formula is not guessed', async () => {
    expect(await registryLookup(directory(undefined))('01')).toBeUndefined();
    expect(await registryLookup(directory({ deviceId: 'D', chip: 'nrf5340', lot: 'L' }))('01')).toBeUndefined();
    expect(await registryLookup(directory({ deviceId: 'D', chip: 'nrf5340', lot: 'L', identityPublicKey: '04abcd' }))('01')).toBeUndefined();
    const entry = await registryLookup(directory({ deviceId: 'D', chip: 'nrf5340', lot: 'L', identityPublicKey: key, instanceIdFormula: '9.9' }))('01');
    expect(entry?.instanceIdFormula).toBeUndefined();
  });

  it('the verifier reports the lot and the registry it found the device in', async () => {
    const { privateKey, publicKey } = newKeyPair();
    const identity = uncompressedOf(publicKey);
    const instanceId = Buffer.from(instanceIdUnder(identity, '2.1'), 'hex');
    const token = signClaims(rfc9783Claims({ instanceId, implementationId: Buffer.alloc(32, 0x11) }), privateKey);
    const lookup = registryLookup(directory({ deviceId: 'D9', chip: 'nrf9160', lot: 'L9', identityPublicKey: hex(identity), instanceIdFormula: '2.1', implementationId: '11'.repeat(32) }));
    const r = await verifyAttestationToken(token, { lookup, nonce: Buffer.alloc(32, 0xaa) });
    expect(r.errorCodes).toEqual([]);
    expect(r.device).toEqual({ deviceId: 'D9', chip: 'nrf9160', lot: 'L9', source: 'registry postgresql://verifier:***@db/registry', instanceIdFormula: '2.1' });
  });
});

describe('attest verify: where the key comes from (no server needed)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tfm-attest-reg-usage-'));
    await fsp.writeFile(path.join(dir, 'token.cbor'), Buffer.from([0xd2]));
  });
  afterAll(async () => fsp.rm(dir, { recursive: true, force: true }));
  const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const c = captureIo({ cwd: dir, env: { ...process.env, [REGISTRY_ENV]: '', ...env } });
    return { code: await runCli(args, c.io), err: c.stderr() };
  };

  it('both --records and --registry, or neither (and no $TFM_PROVISION_REGISTRY), is a usage error before anything is read', async () => {
    const both = await cli(['attest', 'verify', 'token.cbor', '--records', 'r.jsonl', '--registry', 'postgresql://u@127.0.0.1:1/registry']);
    expect([both.code, both.err]).toEqual([EXIT.USAGE, expect.stringMatching(/^error USAGE: attest verify takes --records or --registry, not both/)]);
    const neither = await cli(['attest', 'verify', 'token.cbor']);
    expect([neither.code, neither.err]).toEqual([EXIT.USAGE, expect.stringMatching(/^error USAGE: attest verify needs --records FILE or --registry URL/)]);
    const chain = await cli(['attest', 'verify', 'token.cbor', '--registry', 'postgresql://u@127.0.0.1:1/registry', '--allow-broken-chain']);
    expect([chain.code, chain.err]).toEqual([EXIT.USAGE, expect.stringMatching(/^error USAGE: --allow-broken-chain is about a record file/)]);
  });

  it('a registry that cannot be reached is REGISTRY_UNAVAILABLE (exit 5) from the built CLI, its password never printed', async () => {
    ensureBuilt();
    const { privateKey, publicKey } = newKeyPair();
    const instanceId = Buffer.from(instanceIdUnder(uncompressedOf(publicKey), '2.1'), 'hex');
    await fsp.writeFile(path.join(dir, 'good.cbor'), signClaims(rfc9783Claims({ instanceId }), privateKey));
    // A port nothing listens on: the connection is refused at once.
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const secret = 'unreachable-secret-91c2';
    const run = await runCliProcess(['attest', 'verify', 'good.cbor', '--registry', `postgresql://verifier:${secret}@127.0.0.1:${port}/registry`], { cwd: dir, env: { ...process.env, [REGISTRY_ENV]: '' } });
    expect([run.code, run.stderr]).toEqual([EXIT.ENVIRONMENT, expect.stringMatching(/^error REGISTRY_UNAVAILABLE/)]);
    expect(run.stdout + run.stderr).not.toContain(secret);
  });

  it('a registry URL that is not postgresql:// is a usage error', async () => {
    const r = await cli(['attest', 'verify', 'token.cbor', '--registry', 'https://user:pw@example.com/x']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.err).not.toContain('pw@');
  });
});

// ---- against a real server ----

let server: PostgresServer | undefined;
let dir: string;
/** A verifier's login: it may read the devices table and nothing else. */
let verifierUrl: string;
const PASSWORD = 'verifier-secret-7f3a';

beforeAll(async () => {
  server = await startPostgres();
  if (server === undefined) return;
  ensureBuilt();
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tfm-attest-reg-'));
  const admin = new PgRegistry(server.adminUrl);
  try {
    await admin.migrate();
    await admin.createLot({ name: 'lot-a', chip: 'nrf5340', quota: 10 });
  } finally {
    await admin.close();
  }
  await server.sql(`CREATE ROLE line1 LOGIN; GRANT tfm_registry_station TO line1;
    CREATE ROLE verifier LOGIN; GRANT USAGE ON SCHEMA tfm_registry TO verifier; GRANT SELECT ON tfm_registry.devices TO verifier;`);
  // The harness's server trusts local logins, so the password is never checked: it is here to show
  // that it never reaches the output.
  verifierUrl = server.url('verifier', 'registry', PASSWORD);
}, 120_000);

afterAll(async () => {
  if (dir !== undefined) await fsp.rm(dir, { recursive: true, force: true });
  await server?.destroy();
});

/** A test that needs the server: when none could start locally it does nothing (startPostgres printed why). */
const pgIt = (name: string, body: () => Promise<void>, timeout = 120_000): void =>
  test(name, async () => {
    if (server === undefined) return;
    await body();
  }, timeout);

async function cliInProcess(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = captureIo({ cwd: dir });
  const code = await runCli(args, c.io);
  return { code, out: c.stdout(), err: c.stderr() };
}

/** Provisions a simulated device (records in `<name>.jsonl`) and returns its verified result record. */
async function provisionSim(name: string, chip = 'nrf5340'): Promise<ResultRecord> {
  expect((await cliInProcess(['sim', 'create', `${name}.json`, '--chip', chip])).code).toBe(EXIT.OK);
  const run = await cliInProcess(['provision', '--sim', `${name}.json`, '--records', `${name}.jsonl`, '--json']);
  expect([run.code, run.err]).toEqual([EXIT.OK, '']);
  const result = (await readRecords(path.join(dir, `${name}.jsonl`))).find((r): r is ResultRecord => r.type === 'result' && r.verified);
  expect(result?.identityPublicKey).toMatch(/^04[0-9a-f]{128}$/);
  return result!;
}

/** What a station does with the registry around one run, as the station role: reserve, begin, then (unless `stopAt`) complete. */
async function register(result: ResultRecord, over: { implementationId?: string; stopAt?: 'begin' } = {}): Promise<void> {
  const station = new PgRegistry(server!.url('line1'));
  try {
    await station.reserve({
      lot: 'lot-a',
      attempt: result.attempt,
      chip: result.chip!,
      deviceId: result.deviceId!,
      station: 'line1',
      probeSerial: result.probeSerial,
      implementationId: over.implementationId ?? result.implementationId!,
      identityPublicKey: result.identityPublicKey,
      instanceId: result.instanceId,
      instanceIdFormula: result.instanceIdFormula,
      intent: { attempt: result.attempt },
    });
    await station.begin(result.attempt);
    if (over.stopAt === 'begin') return;
    const done = await station.complete({
      attempt: result.attempt,
      outcome: result.outcome,
      verified: result.verified,
      wroteDevice: result.wroteDevice,
      chip: result.chip,
      deviceId: result.deviceId,
      identityPublicKey: result.identityPublicKey,
      instanceId: result.instanceId,
      instanceIdFormula: result.instanceIdFormula,
      implementationId: result.implementationId,
      result: result as unknown as Record<string, unknown>,
    });
    expect(done.state).toBe('provisioned');
  } finally {
    await station.close();
  }
}

async function requestToken(name: string, nonce: string): Promise<void> {
  const r = await cliInProcess(['attest', 'request', '--sim', `${name}.json`, '--nonce', nonce, '--out', `${name}.cbor`]);
  expect([r.code, r.err]).toEqual([EXIT.OK, '']);
}

/** The built CLI as a separate process, with no registry in its environment unless given. */
function verifyProcess(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCliProcess(['attest', 'verify', ...args], { cwd: dir, env: { ...process.env, [REGISTRY_ENV]: '', ...env } });
}

describe('attest verify --registry, on a real PostgreSQL server', () => {
  const nonce = '5e'.repeat(32);

  pgIt('a token from a device the station registered verifies against the registry, read by a login that may only SELECT devices', async () => {
    const result = await provisionSim('dev1');
    await register(result);
    await requestToken('dev1', nonce);

    const run = await verifyProcess(['dev1.cbor', '--registry', verifierUrl, '--nonce', nonce]);
    expect([run.code, run.stderr]).toEqual([EXIT.OK, '']);
    expect(run.stdout).toMatch(/^  ok    registered +device \S+ in registry postgresql:\/\/verifier:\*\*\*@127\.0\.0\.1:\d+\/registry$/m);
    expect(run.stdout).toMatch(/^  ok    signature /m);
    expect(run.stdout).toMatch(/^  ok    instanceIdKey +derived from the registered key/m);
    expect(run.stdout).toMatch(/^  ok    implementationId /m);
    expect(run.stdout).toMatch(/^verified: signed by the identity key registered for device \S+ \(lot lot-a, registry postgresql:\/\/verifier:\*\*\*@/m);
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);

    const json = await verifyProcess(['dev1.cbor', '--registry', verifierUrl, '--nonce', nonce, '--json']);
    expect(json.code).toBe(EXIT.OK);
    const line = JSON.parse(json.stdout) as { ok: boolean; errorCode: unknown; device: Record<string, unknown> };
    expect(line).toMatchObject({ ok: true, errorCode: null, device: { deviceId: result.deviceId, chip: 'nrf5340', lot: 'lot-a', instanceIdFormula: result.instanceIdFormula } });
    expect(line.device.source).toMatch(/^registry postgresql:\/\/verifier:\*\*\*@/);
    expect(json.stdout).not.toContain(PASSWORD);

    // The same through $TFM_PROVISION_REGISTRY, and a stale nonce is refused.
    expect((await verifyProcess(['dev1.cbor', '--nonce', nonce], { [REGISTRY_ENV]: verifierUrl })).code).toBe(EXIT.OK);
    const replay = await verifyProcess(['dev1.cbor', '--registry', verifierUrl, '--nonce', 'a1'.repeat(32)]);
    expect([replay.code, replay.stderr]).toEqual([EXIT.REFUSED, expect.stringMatching(/^error ATTEST_NONCE_MISMATCH/)]);
  });

  pgIt('a device the registry holds only as reserved (its run never completed) is ATTEST_UNKNOWN_INSTANCE', async () => {
    const result = await provisionSim('dev2');
    await register(result, { stopAt: 'begin' });
    await requestToken('dev2', nonce);
    const run = await verifyProcess(['dev2.cbor', '--registry', verifierUrl, '--nonce', nonce]);
    expect([run.code, run.stderr]).toEqual([EXIT.REFUSED, expect.stringMatching(/^error ATTEST_UNKNOWN_INSTANCE: No registered device has instance ID/)]);
    // The record file of the same run knows the device: the registry, not the token, is what differs.
    expect((await verifyProcess(['dev2.cbor', '--records', 'dev2.jsonl', '--nonce', nonce])).code).toBe(EXIT.OK);
  });

  pgIt('a registry that holds another implementation ID for the device fails ATTEST_IMPLEMENTATION_ID_MISMATCH', async () => {
    const result = await provisionSim('dev3');
    await register(result, { implementationId: 'ee'.repeat(32) });
    await requestToken('dev3', nonce);
    const run = await verifyProcess(['dev3.cbor', '--registry', verifierUrl, '--nonce', nonce]);
    expect([run.code, run.stderr]).toEqual([EXIT.REFUSED, expect.stringMatching(/^error ATTEST_IMPLEMENTATION_ID_MISMATCH/)]);
    expect(run.stdout).toMatch(/^  ok    signature /m);
  });
});
