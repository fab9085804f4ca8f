/**
 * The host strategy's probe operations per device (issue 16; the budget and its reasons are the table
 * in docs/performance.md). Counts, never times: on a real probe each operation is a USB round trip,
 * so the count is the time. Pinned per chip and per step, with the guarantees the fewer operations
 * must keep: a full preflight before the first non-volatile write, each step's writes read back
 * before the next step, and a final verify that reads the device again.
 */
import { provision, type ProvisionResultFields } from '../../lib/provision';
import { seededRandom } from '../../lib/random';
import type { SimOperation } from '../../lib/sim';
import { kmuDestAddress, kmuValueAddress, TARGETS, type ChipName } from '../../lib/targets';
import { simDevice } from './helpers';

/** Operations per step on a part fresh from the reel (docs/performance.md, "Host strategy"). */
const BUDGET: Record<ChipName, Record<string, number>> = {
  nrf5340: { preflight: 29, generateKeys: 0, lifecycle: 3, mkek: 14, mext: 14, identityKey: 12, implementationId: 2, networkCore: 4, verify: 1 },
  nrf9160: { preflight: 22, generateKeys: 0, lifecycle: 3, mkek: 7, mext: 7, identityKey: 12, implementationId: 2, verify: 1 },
  nrf9161: { preflight: 22, generateKeys: 0, lifecycle: 3, mkek: 7, mext: 7, identityKey: 12, implementationId: 2, verify: 1 },
  nrf9151: { preflight: 22, generateKeys: 0, lifecycle: 3, mkek: 7, mext: 7, identityKey: 12, implementationId: 2, verify: 1 },
};
/** The targets. */
const LIMIT: Record<ChipName, number> = { nrf5340: 80, nrf9160: 56, nrf9161: 56, nrf9151: 56 };

const isNvmcWrite = (o: SimOperation): boolean => (o.method === 'write' || o.method === 'writeU32') && o.nvmc === true;

describe.each<ChipName>(['nrf5340', 'nrf9160', 'nrf9161', 'nrf9151'])('%s host strategy', (chip) => {
  async function run() {
    const { session, binding, bootModel } = await simDevice(chip);
    const result: ProvisionResultFields = await provision(session, { random: seededRandom('ops'), bootModel });
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    return { result, ops: binding.operations(session.serialNumber) };
  }

  test(`makes ${Object.values(BUDGET[chip]).reduce((a, b) => a + b, 0)} probe operations per device, within the target of ${LIMIT[chip]}, in the documented budget per step`, async () => {
    const { result } = await run();
    const perStep = Object.fromEntries(result.steps.map((s) => [s.name, s.operations]));
    expect(perStep).toEqual(BUDGET[chip]);
    expect(result.operations).toBe(Object.values(BUDGET[chip]).reduce((a, b) => a + b, 0));
    expect(result.operations).toBeLessThanOrEqual(LIMIT[chip]);
  });

  test('preflight reads the UICR head, every KMU slot 2..7 and (nRF5340) the network core before the first non-volatile write', async () => {
    const { ops } = await run();
    const target = TARGETS[chip];
    const first = ops.findIndex(isNvmcWrite);
    const before = ops.slice(0, first);
    for (let index = 2; index <= 7; index++) {
      expect(before.some((o) => o.method === 'read' && o.address === kmuDestAddress(target, index) && o.length === 8)).toBe(true);
      expect(before.some((o) => o.method === 'read' && o.address === kmuValueAddress(target, index) && o.length === 16)).toBe(true);
    }
    expect(before.some((o) => o.method === 'read' && o.address! <= target.lifecycle.provisioning && o.address! + o.length! >= target.implementationId.address + 32)).toBe(true);
    if (target.network) expect(before.some((o) => o.method === 'readU32' && o.core === 'network' && o.address === target.network!.approtect)).toBe(true);
  });

  test('every non-volatile write is read back before the next step, and the final verify reads the UICR head again after the last write', async () => {
    const { ops } = await run();
    const target = TARGETS[chip];
    const writes = ops.map((o, i) => [o, i] as const).filter(([o]) => isNvmcWrite(o));
    for (const [w, i] of writes) {
      // Some later read covers the written words (on the same core) before the run ends.
      const end = w.address! + (w.method === 'write' ? w.length! : 4);
      const readBack = ops.slice(i + 1).find((o) => (o.method === 'read' || o.method === 'readU32') && o.core === w.core && o.address! <= w.address! && o.address! + (o.method === 'read' ? o.length! : 4) >= end);
      expect(readBack).toBeDefined();
    }
    const lastWrite = writes[writes.length - 1]![1];
    const after = ops.slice(lastWrite + 1);
    expect(after.some((o) => o.method === 'read' && o.core === 'application' && o.address! <= target.lifecycle.provisioning && o.address! + o.length! >= target.implementationId.address + 32)).toBe(true);
  });

  test('no select is repeated and preflight reads no address twice', async () => {
    const { result, ops } = await run();
    const target = TARGETS[chip];
    for (let i = 1; i < ops.length; i++) {
      const [a, b] = [ops[i - 1]!, ops[i]!];
      const sameSelect = a.method === 'writeU32' && b.method === 'writeU32' && a.address === target.kmu.selectKeySlot && b.address === target.kmu.selectKeySlot && a.value === b.value;
      expect(sameSelect).toBe(false);
      expect(a.method === 'selectCore' && b.method === 'selectCore').toBe(false);
    }
    const preflightOps = ops.slice(0, result.steps[0]!.operations);
    const reads = preflightOps.filter((o) => o.method === 'read' || o.method === 'readU32').map((o) => `${o.core}:${o.address}`);
    expect(new Set(reads).size).toBe(reads.length);
  });
});
