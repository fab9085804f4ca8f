/**
 * The sweep has to be able to fail. Each control runs a slice of the sweep against a deliberately
 * broken tool (provision() wrapped to make one classic mistake) and expects the sweep to catch it.
 */
import { provision, type ProvisionResult, type ProvisionResultFields } from '../../lib/provision';
import { FAULT_PROFILES, HOST_STRATEGY, type ProvisionFn, type Strategy, runSweep } from './sweep';

// A broken tool's results need not fit the result types (that is the point): built on the fields view.
function broken(name: string, mutate: (result: ProvisionResultFields) => ProvisionResultFields): Strategy {
  const fn: ProvisionFn = async (session, options) => mutate(await provision(session, options)) as ProvisionResult;
  return { ...HOST_STRATEGY, name, provision: fn };
}

const profile = (name: string) => FAULT_PROFILES.filter((p) => p.name === name);
// Every third operation is enough to reach the failure modes; the full matrix runs in fault-sweep.test.ts.
const slice = { only: (k: number) => k % 3 === 0 };

describe('the fault sweep catches a broken tool', () => {
  test('one that reports success after losing the probe mid-write', async () => {
    const tool = broken('ok-after-disconnect', (r) =>
      !r.ok && r.errorCode === 'PROBE_DISCONNECTED' && r.afterWrite ? { ...r, ok: true, outcome: 'provisioned', errorCode: undefined, error: undefined } : r,
    );
    const result = await runSweep('nrf9160', tool, { ...slice, profiles: profile('disconnect') });
    const caught = result.cases.filter((c) => c.problems.some((p) => p.includes('reported ok')));
    expect(caught.length).toBeGreaterThan(5);
  });

  test('one that claims nothing was written when it had written', async () => {
    const tool = broken('afterWrite-lie', (r) => (r.ok ? r : { ...r, afterWrite: false }));
    const result = await runSweep('nrf9160', tool, { ...slice, profiles: profile('power-loss') });
    expect(result.cases.filter((c) => c.problems.some((p) => p.includes('afterWrite false'))).length).toBeGreaterThan(5);
  });

  test('one that fails without a stable error code', async () => {
    const tool = broken('no-code', (r) => (r.ok ? r : { ...r, errorCode: 'E_SOMETHING' as never }));
    const result = await runSweep('nrf9160', tool, { ...slice, profiles: profile('error') });
    expect(result.cases.every((c) => c.problems.some((p) => p.includes('stable error code')))).toBe(true);
  });

  test('one that never tells the operator to recover', async () => {
    // The sweep follows the typed `recovery`; a tool that never says 'recover-then-rerun' must show.
    const tool = broken('no-recovery-advice', (r) => (r.recovery === 'recover-then-rerun' ? { ...r, recovery: 'rerun' } : r));
    const result = await runSweep('nrf9160', tool, { ...slice, profiles: profile('power-loss') });
    expect(result.cases.filter((c) => c.problems.some((p) => p.startsWith('not provisioned after'))).length).toBeGreaterThan(5);
  });

  test('one that reports a different identity key than it wrote', async () => {
    const tool = broken('wrong-key', (r) =>
      r.ok && r.outcome === 'provisioned' && r.identityPublicKey ? { ...r, identityPublicKey: { ...r.identityPublicKey, hex: `04${'11'.repeat(64)}` } } : r,
    );
    const result = await runSweep('nrf9160', tool, { only: (k) => k === 0, profiles: profile('error') });
    expect(result.cases[0].problems.join(' ')).toMatch(/wrong-identity/);
  });
});
