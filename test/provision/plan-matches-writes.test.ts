/**
 * The plan a dry run prints is the sequence a real run performs: same addresses, same values (key
 * placeholders aside), same order, on every chip. Runs on the in-test fake session, which records calls.
 */
import { provision, type ProvisionResultFields } from '../../lib/provision';
import { seededRandom } from '../../lib/random';
import { hex32 } from '../../lib/bytes';
import { nrf5340, nrf9160, nrf9161 } from '../../lib/targets';
import { FakeSession } from '../device/fake-session';

describe.each([nrf5340, nrf9160, nrf9161].map((t) => [t.name, t] as const))('%s', (_name, target) => {
  it('performs exactly the planned writes, in order', async () => {
    const dry: ProvisionResultFields = await provision(new FakeSession(target), { dryRun: true, random: seededRandom(1) });
    expect(dry).toMatchObject({ ok: true, outcome: 'dryRun', writes: 0 });
    const session = new FakeSession(target);
    const marks: Partial<Record<string, number>> = {};
    const run = await provision(session, {
      random: seededRandom(1),
      onEvent: (e) => {
        if (e.type === 'stepBegin') marks[e.step] = session.calls.length;
      },
    });
    expect(run).toMatchObject({ ok: true, outcome: 'provisioned', lifecycleBefore: 'ASSEMBLY', lifecycleAfter: 'PROVISIONING' });
    // Writes between the first write step and verification (preflight and verify only select slots to read).
    const performed = session.calls
      .slice(marks.lifecycle, marks.verify)
      .filter((c) => c.method === 'write' || c.method === 'writeU32')
      .map((c) => ({ core: c.core, address: hex32(c.address!), nvmc: c.nvmc, value: c.method === 'writeU32' ? hex32(c.value!) : `${c.length} bytes` }));
    const planned = dry.plan!.map((w) => ({ core: w.core, address: w.address, nvmc: w.nvmc, value: w.size === 4 ? w.value : `${w.size} bytes` }));
    expect(performed).toEqual(planned);
    expect(dry.plan!.filter((w) => w.value.startsWith('<')).map((w) => w.value)).toEqual(
      target.huk.size === 32
        ? ['<MKEK[0..15]>', '<MKEK[16..31]>', '<MEXT[0..15]>', '<MEXT[16..31]>', '<IDENTITY_KEY_BLOB[0..15]>', '<IDENTITY_KEY_BLOB[16..31]>']
        : ['<MKEK[0..15]>', '<MEXT[0..15]>', '<IDENTITY_KEY_BLOB[0..15]>', '<IDENTITY_KEY_BLOB[16..31]>'],
    );
  });
});
