import { generateKeyPairSync } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { instanceIdFor } from '../../lib/keys/identity';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXIT } from '../../lib/exit-codes';
import { runCli } from '../../lib/cli/program';
import { RecordWriter } from '../../lib/records';
import { captureIo } from './support/io';

/** Real P-256 points: records verify checks that each key is on the curve and matches its instance ID. */
const keys = [0, 1, 2].map(() => {
  const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  const raw = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return { hex: raw.toString('hex'), instanceId: instanceIdFor(raw) };
});

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tfm-records-cli-'));
  file = path.join(dir, 'records.jsonl');
  const writer = await RecordWriter.open(file);
  const base = {
    tool: { name: 'tfm-provision', version: 'test' },
    backend: 'sim',
    simulated: true,
    chip: 'nrf5340',
    lifecycleBefore: 'ASSEMBLY',
    startedAt: '2026-01-01T00:00:00.000Z',
  };
  for (let i = 0; i < 3; i++) {
    const facts = { ...base, attempt: `a${i}`, probeSerial: 100 + i, deviceId: `d${i}` };
    await writer.intent(facts);
    await writer.result({
      ...facts,
      outcome: 'provisioned',
      verified: true,
      lifecycleAfter: 'PROVISIONING',
      identityPublicKey: keys[i]!.hex,
      instanceId: keys[i]!.instanceId,
      wroteDevice: true,
      finishedAt: '2026-01-01T00:00:01.000Z',
      durationMs: 1000,
    });
  }
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('records command', () => {
  it('verify: exit 0 and a one-line summary with the head hash on an intact chain', async () => {
    const c = captureIo();
    expect(await runCli(['records', 'verify', file], c.io)).toBe(EXIT.OK);
    expect(c.stdout()).toMatch(/chain intact, 6 records \(3 intent, 3 result\)\.\nhead [0-9a-f]{64}\n$/);
  });

  it('verify: names the first broken line, exits non-zero, and --json keeps stdout to one result line', async () => {
    const lines = (await fsp.readFile(file, 'utf8')).split('\n');
    lines[2] = lines[2]!.replace('"d1"', '"d9"');
    await fsp.writeFile(file, lines.join('\n'));

    const c = captureIo();
    expect(await runCli(['records', 'verify', file], c.io)).toBe(EXIT.FAILED_AFTER_WRITE);
    expect(c.stderr()).toContain('RECORDS_CHAIN_BROKEN');
    expect(c.stderr()).toContain('line 4');

    const j = captureIo();
    expect(await runCli(['records', 'verify', file, '--json'], j.io)).toBe(EXIT.FAILED_AFTER_WRITE);
    const out = j.stdout().trim().split('\n');
    expect(out).toHaveLength(1);
    expect(JSON.parse(out[0]!)).toMatchObject({ type: 'result', ok: false, firstBreak: { line: 4 } });
  });

  it('export --csv: one row per verified device; refuses a broken chain unless told otherwise', async () => {
    const c = captureIo();
    expect(await runCli(['records', 'export', file, '--csv'], c.io)).toBe(EXIT.OK);
    const rows = c.stdout().trim().split('\r\n');
    expect(rows).toHaveLength(4);
    expect(rows[1]).toBe(`d0,${keys[0]!.hex},${keys[0]!.instanceId},nrf5340,,2026-01-01T00:00:01.000Z,100,2.1`);

    await fsp.appendFile(file, '{"not":"a record"}\n');
    const broken = captureIo();
    expect(await runCli(['records', 'export', file, '--csv'], broken.io)).toBe(EXIT.FAILED_AFTER_WRITE);
    expect(broken.stdout()).toBe('');

    const out = path.join(dir, 'registry.csv');
    expect(await runCli(['records', 'export', file, '--csv', '--allow-broken-chain', '-o', out], captureIo().io)).toBe(EXIT.USAGE);
    // The appended line is not a record at all: the export refuses to guess (RECORDS_INVALID = usage).
  });

  it('reports a missing file as an environment error', async () => {
    const c = captureIo();
    expect(await runCli(['records', 'verify', path.join(dir, 'nope.jsonl')], c.io)).toBe(EXIT.ENVIRONMENT);
    expect(c.stderr()).toContain('FILE_ERROR');
  });
});
