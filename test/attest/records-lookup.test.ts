/**
 * The records as a lookup: verified results with an identity key, indexed by the instance ID their key
 * gives under the formula they name, and the CLI that reads them.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { coseKeyOf, instanceIdUnder, recordsLookup, recordsLookupFromFile } from '../../lib/attest';
import { instanceIdFor } from '../../lib/keys/identity';
import { EXIT } from '../../lib/exit-codes';
import { runCli } from '../../lib/cli/program';
import { type ProvisioningRecord, RecordWriter, type ResultInput } from '../../lib/records';
import { captureIo } from '../cli/support/io';
import { newKeyPair, rfc9783Claims, signClaims, uncompressedOf } from './support';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function result(n: number, key: Uint8Array, over: Partial<ResultInput> & { instanceIdFormula?: string } = {}): ResultInput {
  return {
    attempt: `a${n}`,
    tool: { name: 'tfm-provision', version: 'test' },
    probeSerial: 100 + n,
    backend: 'sim',
    simulated: true,
    chip: 'nrf5340',
    deviceId: `DEV${n}`,
    implementationId: 'aa'.repeat(32),
    startedAt: '2026-01-01T00:00:00.000Z',
    outcome: 'provisioned',
    verified: true,
    lifecycleAfter: 'PROVISIONING',
    identityPublicKey: hex(key),
    instanceId: instanceIdFor(key),
    wroteDevice: true,
    finishedAt: '2026-01-01T00:00:01.000Z',
    durationMs: 1000,
    ...over,
  };
}

const asRecord = (input: ResultInput): ProvisioningRecord => ({ v: 1, type: 'result', prev: '0'.repeat(64), time: input.finishedAt, ...input });

describe('instance ID formulas (attest_asymmetric_key.c, TF-M 2.1 and 2.2)', () => {
  // A fixed key: the P-256 generator point G (SEC 2 section 2.4.2), so the vectors need no RNG.
  const G = Buffer.from(
    '04' + '6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296' + '4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5',
    'hex',
  );

  it("'2.1' hashes the 65-byte key, as lib/keys reports it", () => {
    expect(instanceIdUnder(G, '2.1')).toBe(instanceIdFor(G));
    expect(instanceIdUnder(G, '2.1')).toMatch(/^01[0-9a-f]{64}$/);
  });

  it("'2.2' hashes the COSE_Key t_cose_key_encode writes: {1: 2, -1: 1, -2: x, -3: y}, 75 bytes", () => {
    const coseKey = coseKeyOf(G);
    expect(coseKey.length).toBe(75);
    expect(coseKey.subarray(0, 8).toString('hex')).toBe('a401022001215820');
    expect(coseKey.subarray(8, 40)).toEqual(G.subarray(1, 33));
    expect(coseKey.subarray(40, 43).toString('hex')).toBe('225820');
    expect(coseKey.subarray(43)).toEqual(G.subarray(33));
    expect(instanceIdUnder(G, '2.2')).not.toBe(instanceIdUnder(G, '2.1'));
  });
});

describe('recordsLookup', () => {
  const a = uncompressedOf(newKeyPair().publicKey);
  const b = uncompressedOf(newKeyPair().publicKey);

  it('finds a verified result by the instance ID of its key, with its implementation ID, under the 2.1 formula when none is named', () => {
    const index = recordsLookup([asRecord(result(1, a))], 'records r.jsonl');
    const entry = index.lookup(instanceIdFor(a));
    expect(entry).toMatchObject({ deviceId: 'DEV1', instanceIdFormula: '2.1', implementationId: 'aa'.repeat(32), source: 'records r.jsonl' });
    expect(Buffer.from((entry as { identityPublicKey: Uint8Array }).identityPublicKey)).toEqual(Buffer.from(a));
  });

  it('uses the formula a record names (2.2) for its index', () => {
    const index = recordsLookup([asRecord(result(1, a, { instanceId: instanceIdUnder(a, '2.2'), instanceIdFormula: '2.2' } as Partial<ResultInput>))]);
    expect(index.lookup(instanceIdUnder(a, '2.2'))).toMatchObject({ instanceIdFormula: '2.2' });
    expect(index.lookup(instanceIdFor(a))).toBeUndefined();
  });

  it('leaves out refused, failed and unverified results and those without a key', () => {
    const index = recordsLookup([
      asRecord(result(1, a, { outcome: 'refused' })),
      asRecord(result(2, b, { verified: false })),
      asRecord(result(3, a, { identityPublicKey: undefined })),
    ]);
    expect(index.size).toBe(0);
  });

  it('keeps the latest verified result per device', () => {
    const index = recordsLookup([asRecord(result(1, a)), asRecord(result(1, b))]);
    expect(index.lookup(instanceIdFor(a))).toBeUndefined();
    expect(index.lookup(instanceIdFor(b))).toMatchObject({ deviceId: 'DEV1' });
  });

  it('reports a record whose instance ID does not match its key and does not index it', () => {
    const index = recordsLookup([asRecord(result(1, a, { instanceId: instanceIdFor(b) }))]);
    expect(index.size).toBe(0);
    expect(index.inconsistent).toEqual([{ deviceId: 'DEV1', instanceId: instanceIdFor(b) }]);
  });
});

describe('attest verify (CLI)', () => {
  let dir: string;
  let records: string;
  const pair = newKeyPair();
  const key = uncompressedOf(pair.publicKey);
  const nonce = Buffer.alloc(32, 0x42);
  const token = signClaims(rfc9783Claims({ instanceId: Buffer.from(instanceIdFor(key), 'hex'), nonce, implementationId: Buffer.alloc(32, 0xaa) }), pair.privateKey);

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tfm-attest-cli-'));
    records = path.join(dir, 'records.jsonl');
    const writer = await RecordWriter.open(records);
    // As a run writes them: the intent before the result (records verify checks it).
    const { outcome: _o, verified: _v, lifecycleAfter: _l, wroteDevice: _w, finishedAt: _f, durationMs: _d, ...intent } = result(7, key);
    await writer.intent(intent);
    await writer.result(result(7, key));
    await writer.close();
    await fsp.writeFile(path.join(dir, 'token.cbor'), token);
  });
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('the records lookup reads the file the station wrote', async () => {
    const index = await recordsLookupFromFile(records);
    expect(index.lookup(instanceIdFor(key))).toMatchObject({ deviceId: 'DEV7' });
  });

  it('exit 0, each claim and each check printed, for a token signed by the registered key', async () => {
    const c = captureIo({ cwd: dir });
    expect(await runCli(['attest', 'verify', 'token.cbor', '--records', 'records.jsonl', '--nonce', nonce.toString('hex')], c.io)).toBe(EXIT.OK);
    const out = c.stdout();
    expect(out).toContain('COSE_Sign1 (tagged 18), algorithm -7, RFC 9783 claim keys');
    for (const label of ['profile', 'instance ID', 'implementation ID', 'nonce', 'client ID', 'security lifecycle', 'boot seed', 'software components']) {
      expect(out).toMatch(new RegExp(`^  ${label} +\\S`, 'm'));
    }
    for (const check of ['cose', 'algorithm', 'signature', 'instanceIdKey', 'nonce', 'implementationId', 'lifecycle', 'bootSeed', 'softwareComponents']) {
      expect(out).toMatch(new RegExp(`^  ok    ${check} `, 'm'));
    }
    expect(out).toContain('12288 (secured-0x3000)');
    expect(out).toMatch(/verified: signed by the identity key registered for device DEV7/);
  });

  it('exit 3 and the check\'s code for the wrong nonce; --json prints one result line', async () => {
    const c = captureIo({ cwd: dir });
    expect(await runCli(['attest', 'verify', 'token.cbor', '--records', 'records.jsonl', '--nonce', '00'.repeat(32)], c.io)).toBe(EXIT.REFUSED);
    expect(c.stdout()).toMatch(/^  FAIL  nonce +ATTEST_NONCE_MISMATCH: /m);
    expect(c.stderr()).toMatch(/^error ATTEST_NONCE_MISMATCH: /);

    const j = captureIo({ cwd: dir });
    expect(await runCli(['attest', 'verify', 'token.cbor', '--records', 'records.jsonl', '--nonce', '00'.repeat(32), '--json'], j.io)).toBe(EXIT.REFUSED);
    const lines = j.stdout().trim().split('\n');
    expect(lines).toHaveLength(1);
    const parsed = JSON.parse(lines[0]!) as { type: string; ok: boolean; errorCodes: string[]; claims: { nonce: string } };
    expect(parsed).toMatchObject({ type: 'result', ok: false, errorCodes: ['ATTEST_NONCE_MISMATCH'], claims: { nonce: nonce.toString('hex') } });
  });

  it('refuses a record file whose hash chain is broken (RECORDS_CHAIN_BROKEN), unless --allow-broken-chain', async () => {
    const edited = path.join(dir, 'edited.jsonl');
    const lines = (await fsp.readFile(records, 'utf8')).split('\n');
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    await fsp.writeFile(edited, [JSON.stringify({ ...first, prev: 'f'.repeat(64) }), ...lines.slice(1)].join('\n'));
    const c = captureIo({ cwd: dir });
    expect(await runCli(['attest', 'verify', 'token.cbor', '--records', 'edited.jsonl', '--nonce', nonce.toString('hex')], c.io)).toBe(EXIT.FAILED_AFTER_WRITE);
    expect(c.stderr()).toMatch(/^error RECORDS_CHAIN_BROKEN: edited.jsonl: the record chain breaks at line 1/);
    const allowed = captureIo({ cwd: dir });
    expect(await runCli(['attest', 'verify', 'token.cbor', '--records', 'edited.jsonl', '--nonce', nonce.toString('hex'), '--allow-broken-chain'], allowed.io)).toBe(EXIT.OK);
  });

  it('exit 3 ATTEST_UNKNOWN_INSTANCE when the records do not hold the device', async () => {
    const empty = path.join(dir, 'empty.jsonl');
    await fsp.writeFile(empty, '');
    const c = captureIo({ cwd: dir });
    expect(await runCli(['attest', 'verify', 'token.cbor', '--records', empty], c.io)).toBe(EXIT.REFUSED);
    expect(c.stderr()).toMatch(/^error ATTEST_UNKNOWN_INSTANCE: /);
  });

  it('exit 2 for a nonce that is not hex, 2 without --records, 5 for a token file that is not there', async () => {
    const bad = captureIo({ cwd: dir });
    expect(await runCli(['attest', 'verify', 'token.cbor', '--records', 'records.jsonl', '--nonce', 'zz'], bad.io)).toBe(EXIT.USAGE);
    const missing = captureIo({ cwd: dir });
    expect(await runCli(['attest', 'verify', 'token.cbor'], missing.io)).toBe(EXIT.USAGE);
    const absent = captureIo({ cwd: dir });
    expect(await runCli(['attest', 'verify', 'nothing.cbor', '--records', 'records.jsonl'], absent.io)).toBe(EXIT.ENVIRONMENT);
    expect(absent.stderr()).toMatch(/^error FILE_ERROR: Cannot read the token file/);
  });
});

describe('attest request (CLI)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tfm-attest-request-'));
  });
  afterAll(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('refuses a nonce TF-M would refuse (not 32, 48 or 64 bytes) before touching the state file: exit 2', async () => {
    const c = captureIo({ cwd: dir });
    expect(await runCli(['attest', 'request', '--sim', 'absent.json', '--nonce', 'ab'.repeat(16), '--out', 't.cbor'], c.io)).toBe(EXIT.USAGE);
    expect(c.stderr()).toMatch(/^error INVALID_PARAMETER: --nonce must be 32, 48 or 64 bytes/);
  });

  it('needs --sim, --nonce and --out: exit 2', async () => {
    const c = captureIo({ cwd: dir });
    expect(await runCli(['attest', 'request', '--nonce', 'ab'.repeat(32), '--out', 't.cbor'], c.io)).toBe(EXIT.USAGE);
  });
});
