/**
 * Crash safety of the record file: a station process killed with SIGKILL at any moment leaves a
 * file whose every complete line parses (and chains), and every simulated device whose state
 * changed has at least its intent record. The simulated devices live in state files saved after
 * every write, so they survive the kill the way silicon would.
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readRecords, verifyRecordFile } from '../../lib/records';
import { SimulatedDevice } from '../../lib/sim';
import { collect, ensureBuilt, spawnCli } from './support/cli';

let dir: string;
beforeAll(() => ensureBuilt());
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tfm-station-kill-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

async function countIntents(file: string): Promise<number> {
  const text = await fsp.readFile(file, 'utf8').catch(() => '');
  return text.split('"type":"intent"').length - 1;
}

describe('station killed with SIGKILL', () => {
  async function someDeviceChanged(states: string): Promise<boolean> {
    for (const file of await fsp.readdir(states).catch(() => [] as string[])) {
      if (!file.endsWith('.json')) continue;
      const text = await fsp.readFile(path.join(states, file), 'utf8').catch(() => '');
      if (text === '') continue;
      if (SimulatedDevice.fromJSON(JSON.parse(text)).dump().lifecycle !== 'ASSEMBLY') return true;
    }
    return false;
  }

  // Kill points: right after the first intent, among several, and once a device has been written.
  it.each([
    ['1 intent record', 1, false],
    ['4 intent records', 4, false],
    ['a device changed', 1, true],
  ] as const)('after %s: complete lines parse and chain, and every changed device has its intent', async (_label, intentsBeforeKill, waitForChange) => {
    const states = path.join(dir, 'states');
    const records = path.join(dir, 'records.jsonl');
    const child = spawnCli(['station', '--sim-count', '8', '--sim-latency', '2', '--sim-state-dir', states, '--records', records, '--json'], {
      env: { ...process.env, TFM_PROVISION_LOCK_DIR: path.join(dir, 'locks') },
      cwd: dir,
    });
    const done = collect(child);
    child.stdin?.end();
    while ((await countIntents(records)) < intentsBeforeKill || (waitForChange && !(await someDeviceChanged(states)))) {
      if (child.exitCode !== null) throw new Error('the station finished before the kill point; raise --sim-latency');
      await new Promise((r) => setImmediate(r));
    }
    child.kill('SIGKILL');
    const run = await done;
    expect(run.signal).toBe('SIGKILL');

    // Every complete line parses and the chain holds; an incomplete tail (none expected) is not a line.
    const report = await verifyRecordFile(records);
    expect(report.ok).toBe(true);
    expect(report.intents).toBeGreaterThanOrEqual(intentsBeforeKill);
    const all = await readRecords(records);
    const intentDevices = new Set(all.filter((r) => r.type === 'intent').map((r) => r.deviceId));

    let changed = 0;
    for (const file of await fsp.readdir(states)) {
      if (!file.endsWith('.json')) continue;
      const dump = SimulatedDevice.load(path.join(states, file)).dump();
      const touched = dump.lifecycle !== 'ASSEMBLY' || dump.kmuSlots.length > 0 || !/^(f{2})+$/.test(dump.implementationId);
      if (!touched) continue;
      changed++;
      expect({ device: dump.deviceId, hasIntent: intentDevices.has(dump.deviceId) }).toEqual({ device: dump.deviceId, hasIntent: true });
    }
    // When the kill came after a write was seen, the check above had a device to check.
    if (waitForChange) expect(changed).toBeGreaterThan(0);
  });
});
