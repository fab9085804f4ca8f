/**
 * Signed records (issue 14): a station key signs every record; `verifyRecordFile` with the
 * station's public key proves authorship, and checks what the records say, in linear time.
 */
import { generateKeyPairSync } from 'node:crypto';
import { promises as fsp, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { instanceIdUnder } from '../../lib/attest/instance-id';
import {
  type IntentInput,
  type ResultInput,
  RecordWriter,
  csvField,
  loadOrCreateStationKey,
  sha256Hex,
  splitSignedLine,
  verifyRecordFile,
  type StationKey,
} from '../../lib/records';
import { recordFacts } from '../support/record-facts';

let dir: string;
let station: StationKey;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tfm-signed-'));
  station = loadOrCreateStationKey(path.join(dir, 'keys', 'station-key.pem')).key;
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

function p256(): Buffer {
  const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
}

const facts = (n: number): IntentInput => recordFacts(n);

function result(n: number, key: Buffer, over: Partial<ResultInput> = {}): ResultInput {
  return {
    ...facts(n),
    outcome: 'provisioned',
    verified: true,
    lifecycleAfter: 'PROVISIONING',
    identityPublicKey: key.toString('hex'),
    instanceId: instanceIdUnder(key, '2.1'),
    wroteDevice: true,
    finishedAt: new Date(1000).toISOString(),
    durationMs: 1000,
    ...over,
  };
}

/** Writes `devices` provisioned devices (intent + result each), signed by `signer` if given. */
async function writeDevices(file: string, devices: number, signer: StationKey | null = station): Promise<Buffer[]> {
  const writer = await RecordWriter.open(file, { signer: signer ?? undefined });
  const keys: Buffer[] = [];
  for (let n = 0; n < devices; n++) {
    const key = p256();
    keys.push(key);
    await writer.intent({ ...facts(n), identityPublicKey: key.toString('hex'), instanceId: instanceIdUnder(key, '2.1') });
    await writer.result(result(n, key));
  }
  await writer.close();
  return keys;
}

async function fileLines(file: string): Promise<string[]> {
  return (await fsp.readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
}

/** Rewrites lines and recomputes the chain, as a forger without the station key would. */
async function forge(file: string, edit: (records: Array<Record<string, unknown>>) => Array<Record<string, unknown>>): Promise<void> {
  const records = edit((await fileLines(file)).map((l) => JSON.parse(l) as Record<string, unknown>));
  let prev = '0'.repeat(64);
  const out: string[] = [];
  for (const record of records) {
    const line = JSON.stringify({ ...record, prev });
    out.push(line);
    prev = sha256Hex(line);
  }
  await fsp.writeFile(file, `${out.join('\n')}\n`);
}

describe('station key', () => {
  it('is created once with mode 0600 and loaded with the same key ID afterwards', () => {
    const file = path.join(dir, 'k2', 'station-key.pem');
    const first = loadOrCreateStationKey(file);
    const again = loadOrCreateStationKey(file);
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.key.keyId).toBe(first.key.keyId);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.key.publicKey.asymmetricKeyType).toBe('ed25519');
  });

  it('refuses a key file others can read', async () => {
    const file = path.join(dir, 'k3.pem');
    loadOrCreateStationKey(file);
    await fsp.chmod(file, 0o644);
    expect(() => loadOrCreateStationKey(file)).toThrow(expect.objectContaining({ code: 'STATION_KEY_INVALID' }));
  });
});

describe('signed records', () => {
  it('every record ends with the station key ID and a signature over the SHA-256 of the line without it', async () => {
    const file = path.join(dir, 'r.jsonl');
    await writeDevices(file, 2);
    for (const line of await fileLines(file)) {
      const record = JSON.parse(line) as Record<string, unknown>;
      expect(record.keyId).toBe(station.keyId);
      expect(Object.keys(record).pop()).toBe('sig');
      expect(splitSignedLine(Buffer.from(line))).toBeDefined();
    }
    const report = await verifyRecordFile(file, { publicKey: station.publicKey });
    expect(report).toMatchObject({ ok: true, authorship: 'verified', signed: 4, unsigned: 0, intents: 2, results: 2, problemCount: 0 });
  });

  it('a forged record file (key edited, chain recomputed, no station key) fails with the public key', async () => {
    const file = path.join(dir, 'r.jsonl');
    await writeDevices(file, 2);
    const attacker = p256();
    await forge(file, (records) =>
      records.map((r) => (r.deviceId === 'DEV0000000000001' ? { ...r, identityPublicKey: attacker.toString('hex'), instanceId: instanceIdUnder(attacker, '2.1') } : r)),
    );
    // The chain alone cannot tell: that is what the signature is for.
    expect((await verifyRecordFile(file)).ok).toBe(true);
    const report = await verifyRecordFile(file, { publicKey: station.publicKey });
    expect(report.ok).toBe(false);
    expect(report.firstBreak).toMatchObject({ line: 3, kind: 'signature', reason: expect.stringContaining('does not verify') });
  });

  it('a forged device appended with a recomputed chain and its own signature fails: another key', async () => {
    const file = path.join(dir, 'r.jsonl');
    await writeDevices(file, 1);
    const forger = loadOrCreateStationKey(path.join(dir, 'forger.pem')).key;
    const writer = await RecordWriter.open(file, { signer: forger });
    const key = p256();
    await writer.intent({ ...facts(7), identityPublicKey: key.toString('hex'), instanceId: instanceIdUnder(key, '2.1') });
    await writer.result(result(7, key));
    await writer.close();
    const report = await verifyRecordFile(file, { publicKey: station.publicKey });
    expect(report.firstBreak).toMatchObject({ line: 3, kind: 'signature', reason: expect.stringContaining('another station key') });
  });

  it('deleting or reordering signed lines breaks the chain even if the forger recomputes nothing', async () => {
    const file = path.join(dir, 'r.jsonl');
    await writeDevices(file, 2);
    const lines = await fileLines(file);
    await fsp.writeFile(file, `${[lines[0], lines[2], lines[1], lines[3]].join('\n')}\n`);
    expect((await verifyRecordFile(file, { publicKey: station.publicKey })).firstBreak).toMatchObject({ line: 2, kind: 'chain' });
  });

  it('an old unsigned file verifies as chain only, and fails when a public key demands signatures', async () => {
    const file = path.join(dir, 'old.jsonl');
    await writeDevices(file, 1, null);
    expect(await verifyRecordFile(file)).toMatchObject({ ok: true, authorship: 'not-checked', unsigned: 2, signed: 0 });
    expect((await verifyRecordFile(file, { publicKey: station.publicKey })).firstBreak).toMatchObject({ line: 1, kind: 'signature', reason: 'record is not signed' });
  });
});

describe('what the records say', () => {
  /** Signed by the station itself, so only the meaning checks can catch these. */
  async function signedFile(write: (w: RecordWriter) => Promise<void>): Promise<string> {
    const file = path.join(dir, `m${Math.random().toString(16).slice(2)}.jsonl`);
    const writer = await RecordWriter.open(file, { signer: station });
    await write(writer);
    await writer.close();
    return file;
  }
  const reasons = async (file: string): Promise<string[]> => {
    const report = await verifyRecordFile(file, { publicKey: station.publicKey });
    expect(report.ok).toBe(false);
    return report.problems.map((p) => p.reason);
  };

  it('a public key off the P-256 curve', async () => {
    const key = p256();
    key[64] ^= 1;
    const file = await signedFile(async (w) => {
      await w.intent(facts(1));
      await w.result(result(1, key, { instanceId: instanceIdUnder(key, '2.1') }));
    });
    expect(await reasons(file)).toContain('identityPublicKey is not a point on the P-256 curve');
  });

  it('an instance ID that is not the key\'s under its formula (legacy formula when none is named)', async () => {
    const key = p256();
    const file = await signedFile(async (w) => {
      await w.intent(facts(1));
      await w.result(result(1, key, { instanceId: instanceIdUnder(key, '2.2') }));
      await w.intent(facts(2));
      await w.result({ ...result(2, p256()), instanceId: `01${'22'.repeat(32)}` });
    });
    expect(await reasons(file)).toEqual([
      'instanceId does not match identityPublicKey under formula 2.1',
      'instanceId does not match identityPublicKey under formula 2.1',
    ]);
    const key3 = p256();
    const ok = await signedFile(async (w) => {
      await w.intent(facts(3));
      await w.result({ ...result(3, key3, { instanceId: instanceIdUnder(key3, '2.2') }), instanceIdFormula: '2.2' } as ResultInput);
    });
    expect((await verifyRecordFile(ok, { publicKey: station.publicKey })).ok).toBe(true);
  });

  it('a result that wrote the device with no intent before it; a refusal needs none', async () => {
    const file = await signedFile(async (w) => {
      await w.result(result(1, p256()));
      await w.result({ ...result(2, p256()), outcome: 'refused', verified: false, wroteDevice: false, identityPublicKey: undefined, instanceId: undefined });
    });
    expect(await reasons(file)).toEqual(['result "provisioned" that wrote the device with no intent before it']);
  });

  it('an attempt ID used twice, and an attempt whose result names another device or key', async () => {
    const a = p256();
    const file = await signedFile(async (w) => {
      await w.intent(facts(1));
      await w.result(result(1, a));
      await w.intent(facts(1));
      await w.intent(facts(2));
      await w.result({ ...result(2, p256()), deviceId: 'OTHER' });
    });
    const found = await reasons(file);
    expect(found).toContain('attempt ID reused: a second intent (first on line 1)');
    expect(found).toContainEqual(expect.stringContaining('deviceId differs'));
  });

  it('one identity key recorded for two devices', async () => {
    const key = p256();
    const file = await signedFile(async (w) => {
      await w.intent(facts(1));
      await w.result(result(1, key));
      await w.intent(facts(2));
      await w.result(result(2, key));
    });
    expect(await reasons(file)).toContainEqual(expect.stringContaining('identity key already recorded for device DEV0000000000001'));
  });
});

describe('files that are not record chains', () => {
  it('an empty file is not intact: no records, a distinct outcome', async () => {
    const file = path.join(dir, 'empty.jsonl');
    await fsp.writeFile(file, '');
    expect(await verifyRecordFile(file)).toMatchObject({ ok: false, empty: true, lines: 0 });
  });

  it('random bytes are not a record file, with or without newlines in them', async () => {
    const file = path.join(dir, 'random.bin');
    const bytes = Buffer.alloc(5000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) % 251;
    await fsp.writeFile(file, bytes.filter((b) => b !== 0x0a));
    expect(await verifyRecordFile(file)).toMatchObject({ ok: false, notRecordFile: true, empty: false });
    await fsp.writeFile(file, bytes);
    expect(await verifyRecordFile(file)).toMatchObject({ ok: false, notRecordFile: true });
  });

  it('splits lines in linear work: bytes copied never exceed the file size (a 32 MB file of 1 MB lines, and one of 4 MB)', async () => {
    const sizes: Array<{ size: number; copied: number }> = [];
    for (const devices of [2, 16]) {
      const file = path.join(dir, `big${devices}.jsonl`);
      const writer = await RecordWriter.open(file, { signer: station });
      for (let n = 0; n < devices; n++) {
        // A failed refusal with a 1 MB message: the longest line a record could plausibly carry.
        await writer.result({ ...result(n, p256()), outcome: 'refused', verified: false, wroteDevice: false, identityPublicKey: undefined, instanceId: undefined, error: 'x'.repeat(1_000_000) });
      }
      await writer.close();
      const report = await verifyRecordFile(file, { publicKey: station.publicKey });
      expect(report).toMatchObject({ ok: true, results: devices });
      sizes.push({ size: statSync(file).size, copied: report.bytesCopied });
    }
    for (const s of sizes) expect(s.copied).toBeLessThanOrEqual(s.size);
    // 8x the data, 8x the work (a quadratic split would copy 64x as much).
    expect(sizes[1]!.copied / sizes[0]!.copied).toBeLessThan(8.5);
  });

  it('a line over 1 MiB is not a record, and the scan stops there instead of buffering the file', async () => {
    const file = path.join(dir, 'long.jsonl');
    await fsp.writeFile(file, Buffer.alloc(3 << 20, 0x41));
    const report = await verifyRecordFile(file);
    expect(report).toMatchObject({ ok: false, notRecordFile: true });
    expect(report.bytesCopied).toBe(0);
  });
});

describe('CSV export', () => {
  it('prefixes an apostrophe to cells a spreadsheet would evaluate (= + - @ tab CR), then quotes per RFC 4180', () => {
    expect(csvField('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('-1')).toBe("'-1");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('\tx')).toBe("'\tx");
    expect(csvField('\rx')).toBe(`"'\rx"`);
    expect(csvField('04abcdef')).toBe('04abcdef');
    expect(csvField('a,b')).toBe('"a,b"');
  });
});
