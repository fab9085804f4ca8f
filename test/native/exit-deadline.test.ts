/**
 * At exit every probe thread still in a vendor call is waited for until ONE deadline
 * (TFM_PROVISION_EXIT_WAIT_MS after the exit began), not each for a fresh budget: with a 3 s budget,
 * a call that hangs 2 s is waited for and its instance closed, one that hangs 4 s is left to the
 * OS. Waiting per thread would give the second one 2 + 3 s and close it too.
 */
import * as fs from 'node:fs';
import { runChild } from './child-process';

it('one shared exit deadline for all hung probes', () => {
  const [fast, slow] = [8101, 8102];
  const child = runChild('exit-hung.js', [String(fast), String(slow), '2000', '4000'], { env: { TFM_PROVISION_EXIT_WAIT_MS: '3000' } });
  expect({ status: child.status, signal: child.signal }).toEqual({ status: 0, signal: null });
  const trace = fs.readFileSync(String(child.json.tracePath), 'utf8').split('\n');
  const closed = (serial: number): boolean => trace.includes(`${serial} NRFJPROG_disconnect_from_emu_inst`) // closing disconnects first; the close line carries no serial;
  const hangEnded = (serial: number): boolean => trace.includes(`${serial} hang-end NRFJPROG_read_u32_inst`);
  expect({ fastEnded: hangEnded(fast), fastClosed: closed(fast), slowEnded: hangEnded(slow), slowClosed: closed(slow) }).toEqual({
    fastEnded: true,
    fastClosed: true,
    slowEnded: false,
    slowClosed: false,
  });
});
