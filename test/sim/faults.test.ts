/** The simulated probe: sessions, operation log, injected faults (error, disconnect, power loss), latency. */
import { SimBinding, SimulatedDevice } from '../../lib/testing';
import type { ProbeLogEntry } from '../../lib/probe/types';
import { DEVICE_ID, expectCode, probe } from './helpers';

const SERIAL = 100000001;

test('an "error" fault fails that operation with the given code and no effect; the next ones work', async () => {
  const { session, binding, device, t } = await probe('nrf5340');
  binding.injectFault(SERIAL, { atOperation: 1, kind: 'error', code: 'NVMC_TIMEOUT' });
  await session.readU32(t.ficr.deviceId0); // operation 0
  await expectCode(session.writeU32(t.lifecycle.provisioning, 0xffff0000, { nvmc: true }), 'NVMC_TIMEOUT');
  expect(device.lifecycle).toBe('ASSEMBLY');
  await session.writeU32(t.lifecycle.provisioning, 0xffff0000, { nvmc: true });
  expect(device.lifecycle).toBe('PROVISIONING');
  expect(binding.operations(SERIAL).map((o) => [o.index, o.method, o.fault, o.error])).toEqual([
    [0, 'readU32', undefined, undefined],
    [1, 'writeU32', 'error', 'NVMC_TIMEOUT'],
    [2, 'writeU32', undefined, undefined],
  ]);
});

test('an "error" fault defaults to CANNOT_CONNECT', async () => {
  const { session, binding } = await probe('nrf9160');
  binding.injectFault(SERIAL, { atOperation: 0, kind: 'error' });
  await expectCode(session.deviceInfo(), 'CANNOT_CONNECT');
});

test('a "disconnect" fault fails it and everything after with PROBE_DISCONNECTED until the probe is reopened', async () => {
  const { session, binding, t } = await probe('nrf9160');
  binding.injectFault(SERIAL, { atOperation: 0, kind: 'disconnect' });
  await expectCode(session.readU32(t.ficr.deviceId0), 'PROBE_DISCONNECTED');
  await expectCode(session.readU32(t.ficr.deviceId0), 'PROBE_DISCONNECTED');
  const again = await binding.open(SERIAL);
  expect(await again.readU32(t.ficr.deviceId0)).toBe(0x67452301);
  // Operations are counted on the serial across sessions.
  expect(binding.operations(SERIAL).map((o) => [o.index, o.session])).toEqual([
    [0, 1],
    [1, 1],
    [2, 2],
  ]);
});

test('a "power-loss" fault tears the word in flight: only some of its bits are cleared, the chip resets, the probe disconnects', async () => {
  const { session, binding, device, t } = await probe('nrf5340');
  await session.writeU32(t.network!.forceOff, 0); // operation 0
  binding.injectFault(SERIAL, { atOperation: 1, kind: 'power-loss' });
  await expectCode(session.writeU32(t.lifecycle.provisioning, 0xffff0000, { nvmc: true }), 'PROBE_DISCONNECTED');
  // Half of the 16 bits to clear were cleared: the lifecycle no longer decodes.
  expect(device.lifecycleWords().provisioning).toBe(0xff00);
  expect(device.lifecycle).toBe('INVALID');
  expect(device.networkForcedOff).toBe(true);
  await expectCode(session.readU32(0), 'PROBE_DISCONNECTED');
  const again = await binding.open(SERIAL);
  expect(await again.readU32(t.lifecycle.provisioning)).toBe(0xffffff00);
});

test('tornBits chooses which of the bits to clear get cleared; tornWord which word of a multi-word write is in flight', async () => {
  const { session, binding, device } = await probe('nrf9161');
  binding.injectFault(SERIAL, { atOperation: 0, kind: 'power-loss', tornBits: 0x0000000f, tornWord: 2 });
  await expectCode(session.write(0x10000, new Uint8Array(16), { nvmc: true }), 'PROBE_DISCONNECTED');
  expect([0, 4, 8, 12].map((o) => device.peekU32(0x10000 + o))).toEqual([0, 0, 0xfffffff0, 0xffffffff]);
});

test('a power loss on a non-write operation just resets the chip (no effect of the operation)', async () => {
  const { session, binding, device, t } = await probe('nrf9160');
  await session.writeU32(t.kmu.selectKeySlot, 3);
  binding.injectFault(SERIAL, { atOperation: 1, kind: 'power-loss' });
  await expectCode(session.eraseAll(), 'PROBE_DISCONNECTED');
  expect(device.kmu.selected).toBe(0);
  expect(device.peekU32(t.uicr.approtect)).toBe(0xffffffff);
});

test('sessions: one open per probe (PROBE_BUSY), unknown serial PROBE_NOT_FOUND, closed PROBE_CLOSED, detached PROBE_DISCONNECTED', async () => {
  const { session, binding, t } = await probe('nrf5340');
  await expectCode(binding.open(SERIAL), 'PROBE_BUSY');
  await expectCode(binding.open(42), 'PROBE_NOT_FOUND');
  await session.close();
  await session.close(); // idempotent
  await expectCode(session.readU32(0), 'PROBE_CLOSED');
  const second = await binding.open(SERIAL);
  binding.detach(SERIAL);
  await expectCode(second.readU32(t.ficr.deviceId0), 'PROBE_DISCONNECTED');
  expect(await binding.list()).toEqual([]);
});

test('the binding lists attached probes, reports backend sim, and sessions say simulated', async () => {
  const binding = new SimBinding();
  binding.attach(7, SimulatedDevice.create({ chip: 'nrf9151', deviceId: DEVICE_ID }));
  binding.attach(8, SimulatedDevice.create({ chip: 'nrf5340', deviceId: DEVICE_ID }));
  expect((await binding.list()).map((p) => p.serialNumber)).toEqual([7, 8]);
  expect(await binding.libraryInfo()).toEqual({ backend: 'sim', simulated: true });
  const session = await binding.open(7);
  expect([session.backend, session.simulated, session.serialNumber]).toEqual(['sim', true, 7]);
  expect(binding.device(7)!.chip).toBe('nrf9151');
  expect(() => binding.attach(7, SimulatedDevice.create({ chip: 'nrf9151' }))).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }));
});

test('each operation advances the virtual clock by the latency (default 1 ms); latency 0 does not', async () => {
  const a = await probe('nrf9160');
  for (let i = 0; i < 5; i++) await a.session.readU32(0);
  expect(a.device.virtualTimeUs).toBe(5000);
  const b = await probe('nrf9160', { latencyMs: 0 });
  for (let i = 0; i < 5; i++) await b.session.readU32(0);
  expect(b.device.virtualTimeUs).toBe(0);
});

test('realTime latency also waits in real time and keeps the results the same', async () => {
  const { session, device } = await probe('nrf9160', { latencyMs: 1, realTime: true });
  expect(await session.readU32(device.target.ficr.deviceId1)).toBe(0xefcdab89);
  expect(device.virtualTimeUs).toBe(1000);
});

test('calls on one session run in call order even when not awaited one by one', async () => {
  const { session, device, t } = await probe('nrf5340', { latencyMs: 1, realTime: true });
  const results = await Promise.all([
    session.writeU32(t.nvmc.config, 1),
    session.writeU32(0x7000, 0x12345678),
    session.readU32(0x7000),
    session.writeU32(t.nvmc.config, 0),
  ]);
  expect(results[2]).toBe(0x12345678);
  expect(device.violations).toEqual([]);
});

test('the operation log records method, core, address, value and nvmc, never written data', async () => {
  const { session, binding, t } = await probe('nrf5340');
  await session.writeU32(t.kmu.selectKeySlot, 3);
  await session.write(0x00ff8820, new Uint8Array(16).fill(0xab), { nvmc: true });
  const [select, write] = binding.operations(SERIAL);
  expect(select).toEqual({ index: 0, session: 1, method: 'writeU32', core: 'application', address: t.kmu.selectKeySlot, value: 3, nvmc: false });
  expect(write).toEqual({ index: 1, session: 1, method: 'write', core: 'application', address: 0x00ff8820, length: 16, nvmc: true });
  expect(binding.operationCount(SERIAL)).toBe(2);
});

test('violations and injected faults reach onLog listeners', async () => {
  const { session, binding, t } = await probe('nrf5340');
  const entries: ProbeLogEntry[] = [];
  const off = session.onLog((entry) => entries.push(entry));
  await session.writeU32(t.lifecycle.provisioning, 0xffff0000);
  binding.injectFault(SERIAL, { atOperation: 1, kind: 'error' });
  await expectCode(session.readU32(0), 'CANNOT_CONNECT');
  off();
  expect(entries.map((e) => [e.level, e.source])).toEqual([
    ['warning', 'sim'],
    ['error', 'sim'],
  ]);
  expect(entries[0]!.message).toMatch(/WRITE_WITHOUT_WEN/u);
});

test('bad fault descriptions are refused', async () => {
  const { binding } = await probe('nrf5340');
  expect(() => binding.injectFault(SERIAL, { atOperation: -1, kind: 'error' })).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }));
  expect(() => binding.injectFault(SERIAL, { atOperation: 0, kind: 'melt' as never })).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }));
  expect(() => binding.injectFault(99, { atOperation: 0, kind: 'error' })).toThrow(expect.objectContaining({ code: 'PROBE_NOT_FOUND' }));
});
