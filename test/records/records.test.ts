import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  GENESIS_HASH,
  type IntentInput,
  RecordWriter,
  type ResultInput,
  readRecords,
  registryRows,
  sha256Hex,
  toCsv,
  verifyRecordFile,
} from '../../lib/records';
import { recordFacts } from '../support/record-facts';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tfm-records-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

function facts(n: number): IntentInput {
  return recordFacts(n, { strategy: 'wrapping-model', implementationId: 'aa'.repeat(32) });
}

function result(n: number, over: Partial<ResultInput> = {}): ResultInput {
  return {
    ...facts(n),
    outcome: 'provisioned',
    verified: true,
    lifecycleAfter: 'PROVISIONING',
    identityPublicKey: `04${'11'.repeat(64)}`,
    instanceId: `01${'22'.repeat(32)}`,
    wroteDevice: true,
    finishedAt: new Date(1000).toISOString(),
    durationMs: 1000,
    ...over,
  };
}

async function lines(file: string): Promise<string[]> {
  const text = await fsp.readFile(file, 'utf8');
  return text.split('\n').filter((l) => l !== '');
}

describe('record file', () => {
  it('chains each record to the SHA-256 of the line before it, starting from the genesis hash', async () => {
    const file = path.join(dir, 'records.jsonl');
    const writer = await RecordWriter.open(file);
    await writer.intent({ ...facts(1), plannedSteps: ['lifecycle', 'huks'] });
    await writer.result(result(1));
    await writer.result(result(2, { outcome: 'refused', verified: false, wroteDevice: false, errorCode: 'LIFECYCLE_NOT_ASSEMBLY' }));
    await writer.close();

    const raw = await lines(file);
    expect(raw).toHaveLength(3);
    const parsed = raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed[0]?.prev).toBe(GENESIS_HASH);
    expect(parsed[1]?.prev).toBe(sha256Hex(raw[0] as string));
    expect(parsed[2]?.prev).toBe(sha256Hex(raw[1] as string));
    expect(parsed.map((r) => r.type)).toEqual(['intent', 'result', 'result']);
    expect(parsed[0]).toMatchObject({ v: 1, attempt: 'attempt-1', probeSerial: 1001, chip: 'nrf5340', lifecycleBefore: 'ASSEMBLY' });

    // The chain alone (the fixture's keys are placeholders; meaning is pinned in records-meaning.test.ts).
    const report = await verifyRecordFile(file, { meaning: false });
    expect(report).toMatchObject({ ok: true, lines: 3, intents: 1, results: 2, incompleteTailBytes: 0 });
    expect(report.headHash).toBe(sha256Hex(raw[2] as string));
  });

  it('continues the chain across writers and keeps it linear under concurrent appends', async () => {
    const file = path.join(dir, 'records.jsonl');
    const a = await RecordWriter.open(file);
    const b = await RecordWriter.open(file);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      writes.push(a.intent(facts(i)));
      writes.push(b.result(result(100 + i)));
    }
    await Promise.all(writes);
    const report = await verifyRecordFile(file, { meaning: false });
    expect(report).toMatchObject({ ok: true, lines: 40, intents: 20, results: 20 });
  });

  it('reports the first line whose prev hash does not match after a line is edited', async () => {
    const file = path.join(dir, 'records.jsonl');
    const writer = await RecordWriter.open(file);
    for (let i = 0; i < 4; i++) await writer.result(result(i));
    const raw = await lines(file);
    raw[1] = (raw[1] as string).replace('"provisioned"', '"refused"');
    await fsp.writeFile(file, `${raw.join('\n')}\n`);

    const report = await verifyRecordFile(file);
    expect(report.ok).toBe(false);
    expect(report.firstBreak).toMatchObject({ line: 3, reason: expect.stringContaining('previous line') });
  });

  it('reports a deleted line and a line that is not JSON', async () => {
    const file = path.join(dir, 'records.jsonl');
    const writer = await RecordWriter.open(file);
    for (let i = 0; i < 4; i++) await writer.result(result(i));
    const raw = await lines(file);

    await fsp.writeFile(file, `${[raw[0], raw[2], raw[3]].join('\n')}\n`);
    expect((await verifyRecordFile(file)).firstBreak?.line).toBe(2);

    await fsp.writeFile(file, `${[raw[0], '{"v":1,', raw[1]].join('\n')}\n`);
    expect((await verifyRecordFile(file)).firstBreak).toMatchObject({ line: 2, reason: 'line is not valid JSON' });

    await fsp.writeFile(file, `${[raw[1], raw[2]].join('\n')}\n`);
    expect((await verifyRecordFile(file)).firstBreak).toMatchObject({ line: 1, reason: expect.stringContaining('first record') });
  });

  it('cuts off an incomplete last line (interrupted append) before the next append and keeps the chain', async () => {
    const file = path.join(dir, 'records.jsonl');
    const first = await RecordWriter.open(file);
    await first.result(result(1));
    await fsp.appendFile(file, '{"v":1,"type":"intent","prev":"00');

    const before = await verifyRecordFile(file, { meaning: false });
    expect(before).toMatchObject({ ok: true, lines: 1, incompleteTailBytes: 33 });

    const repairs: number[] = [];
    const second = await RecordWriter.open(file, { onRepair: (info) => repairs.push(info.removedBytes) });
    await second.result(result(2));
    expect(repairs).toEqual([33]);
    expect(await verifyRecordFile(file, { meaning: false })).toMatchObject({ ok: true, lines: 2, incompleteTailBytes: 0 });
  });

  it('exports verified, provisioned devices as CSV, latest result per device, nothing else', async () => {
    const file = path.join(dir, 'records.jsonl');
    const writer = await RecordWriter.open(file);
    await writer.intent(facts(1));
    await writer.result(result(1, { identityPublicKey: `04${'aa'.repeat(64)}` }));
    await writer.result(result(2, { outcome: 'failed', verified: false, identityPublicKey: undefined, errorCode: 'WRITE_FAILED' }));
    await writer.result(result(3, { outcome: 'refused', verified: false, wroteDevice: false, identityPublicKey: undefined }));
    await writer.result(result(1, { identityPublicKey: `04${'bb'.repeat(64)}`, outcome: 'alreadyProvisioned' }));

    const rows = registryRows(await readRecords(file));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ deviceId: 'DEV0000000000001', identityPublicKey: `04${'bb'.repeat(64)}`, instanceId: `01${'22'.repeat(32)}` });
    const csv = toCsv(rows).split('\r\n');
    expect(csv[0]).toBe('device_id,identity_public_key,instance_id,chip,implementation_id,provisioned_at,probe_serial,instance_id_formula');
    expect(csv[1]?.startsWith(`DEV0000000000001,04${'bb'.repeat(64)},01${'22'.repeat(32)},nrf5340,`)).toBe(true);
  });

  it('names the instance-ID formula of each result; a record written before the field existed reads as the TF-M 2.1 formula', async () => {
    const file = path.join(dir, 'records.jsonl');
    const writer = await RecordWriter.open(file);
    // An older tool wrote no instanceIdFormula (its IDs were 0x01 || SHA-256(key), TF-M 2.1).
    await writer.result(result(1));
    await writer.result(result(2, { instanceIdFormula: '2.2' }));
    const records = await readRecords(file);
    expect(records.map((r) => (r as { instanceIdFormula?: string }).instanceIdFormula)).toEqual([undefined, '2.2']);
    expect(await verifyRecordFile(file, { meaning: false })).toMatchObject({ ok: true }); // the chain; the fixture keys are placeholders
    expect(registryRows(records).map((r) => r.instanceIdFormula)).toEqual(['2.1', '2.2']);
    expect(toCsv(registryRows(records)).split('\r\n')[1]?.endsWith(',2.1')).toBe(true);
  });
});
