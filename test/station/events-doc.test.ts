/**
 * docs/station.md lists the events onEvent receives; this pins the list to the StationEvent type
 * (a Record over its `type` union: a type added or removed there fails to compile here) and to
 * what a run on a simulated fleet really emits. It also pins that simulated devices are checked
 * with the TF-M boot model with no wiring, in runStation and in provision()/verify().
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { runStation, type StationEvent } from '../../lib/station';
import { createSimFleet, createSimProbe } from '../../lib/testing';
import { provision, verify } from '../../lib/provision';
import { SimSession } from '../../lib/sim/binding';

const ALL_TYPES: Record<StationEvent['type'], true> = {
  stationStart: true,
  deviceStart: true,
  deviceIdentified: true,
  provision: true,
  intentRecorded: true,
  deviceEnd: true,
  waitingForDevice: true,
  waitingForRemoval: true,
  stopping: true,
  notice: true,
  quota: true,
};

function documentedTypes(): string[] {
  const text = readFileSync(path.join(__dirname, '..', '..', 'docs', 'station.md'), 'utf8');
  const section = /<!-- station-events -->([\s\S]*?)<!-- \/station-events -->/u.exec(text);
  expect(section).not.toBeNull();
  return [...section![1]!.matchAll(/^- `([A-Za-z]+)`/gmu)].map((m) => m[1]!);
}

afterEach(() => jest.restoreAllMocks());

test('docs/station.md lists exactly the StationEvent types', () => {
  expect(documentedTypes().sort()).toEqual(Object.keys(ALL_TYPES).sort());
});

test('a run on a simulated fleet emits only documented types, provision events nested in event.event', async () => {
  const fleet = createSimFleet({ count: 2 });
  const seen: StationEvent[] = [];
  const summary = await runStation({ binding: fleet.binding, serialNumbers: fleet.serialNumbers, records: false, onEvent: (e) => seen.push(e) });
  expect(summary.counts.passed).toBe(2);
  const documented = new Set(documentedTypes());
  for (const e of seen) expect(documented.has(e.type)).toBe(true);
  const types = new Set(seen.map((e) => e.type));
  for (const t of ['stationStart', 'deviceStart', 'deviceIdentified', 'provision', 'deviceEnd'] as const) expect(types.has(t)).toBe(true);
  const nested = seen.filter((e): e is Extract<StationEvent, { type: 'provision' }> => e.type === 'provision').map((e) => e.event.type);
  expect(nested).toContain('stepBegin');
  expect(nested).toContain('message');
});

test('runStation on createSimFleet boots each device with the TF-M model without deviceOptions', async () => {
  const boots = jest.spyOn(SimSession.prototype, 'tfmFirstBoot');
  const fleet = createSimFleet({ count: 3 });
  const summary = await runStation({ binding: fleet.binding, serialNumbers: fleet.serialNumbers, records: false });
  expect(summary.counts.passed).toBe(3);
  expect(boots).toHaveBeenCalledTimes(3);
  for (const r of boots.mock.results) expect(r.value).toMatchObject({ ok: true, lifecycle: 'SECURED' });
});

test('provision() and verify() on createSimProbe report the TF-M boot model by default; a given bootModel replaces it', async () => {
  const { session } = await createSimProbe({ chip: 'nrf5340' });
  const result = await provision(session);
  expect(result.outcome).toBe('provisioned');
  if (result.outcome !== 'provisioned') return;
  expect(result.verification.boot).toMatchObject({ ok: true, lifecycle: 'SECURED' });
  const checked = await verify(session);
  expect(checked.ok).toBe(true);
  expect(checked.boot).toMatchObject({ ok: true });

  const other = await createSimProbe({ chip: 'nrf9160' });
  const mine = jest.fn(() => ({ ok: false, lifecycle: 'PROVISIONING' as const, errorCode: 'HUK_MISSING' as const, message: 'mine' }));
  const refused = await provision(other.session, { bootModel: mine });
  expect(mine).toHaveBeenCalled();
  expect(refused.ok).toBe(false);
});
