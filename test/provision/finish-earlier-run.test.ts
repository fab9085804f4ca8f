/**
 * A run that stopped after its keys (lifecycle PROVISIONING, MKEK, MEXT and the identity key in
 * place) left only steps that need no key: the implementation ID and the nRF5340 network-core lock.
 * A re-run finishes them instead of sending the device to an erase-all.
 */
import type { SimTfmBootRequest } from '../../lib/sim/types';
import { provision, type ProvisionResultFields } from '../../lib/provision';
import { seededRandom } from '../../lib/random';
import { SimulatedDevice, createSimProbe, type SimDeviceState } from '../../lib/sim';
import { getTarget, type ChipName } from '../../lib/targets';
import { classifyBoot } from '../support/boot-model';
import { CHIPS, DEVICE_ID, nvmcOperations } from './helpers';

/** The keys a real run wrote (so TF-M's boot model can use them), without the last steps. */
async function stoppedAfterKeys(chip: ChipName, extra: Partial<SimDeviceState> = {}) {
  const first = await createSimProbe({ chip, deviceId: DEVICE_ID });
  const full: ProvisionResultFields = await provision(first.session, { random: seededRandom(`keys-${chip}`), bootModel: (request?: SimTfmBootRequest) => first.device.clone().bootTfm(request) });
  expect(full.ok).toBe(true);
  const t = getTarget(chip);
  const slots = [...t.huk.mkek, ...t.huk.mext, ...t.identityKey.slots].map((s) => first.device.kmuSlot(s.index));
  const device = SimulatedDevice.create({ chip, deviceId: DEVICE_ID, state: { lifecycle: 'PROVISIONING', kmuSlots: slots, ...extra } });
  const probe = await createSimProbe({ chip, device });
  return { ...probe, publicKey: full.identityPublicKey!.hex, bootModel: (request?: SimTfmBootRequest) => probe.device.clone().bootTfm(request) };
}

describe.each(CHIPS)('%s stopped after its keys', (chip) => {
  const t = getTarget(chip);

  it('is finished: only the implementation ID (and network-core lock) are written, then verified', async () => {
    const { binding, device, session, bootModel, publicKey } = await stoppedAfterKeys(chip);
    const dry: ProvisionResultFields = await provision(session, { dryRun: true });
    expect(dry.plan!.map((w) => w.step)).toEqual(['implementationId', ...(t.network ? ['networkCore'] : [])]);
    const ops = binding.operations(session.serialNumber).length;
    const result: ProvisionResultFields = await provision(session, { random: seededRandom('unused'), bootModel });
    expect(result.error).toBeUndefined();
    expect(result).toMatchObject({ ok: true, outcome: 'provisioned', afterWrite: true, lifecycleBefore: 'PROVISIONING', lifecycleAfter: 'PROVISIONING' });
    expect(result.steps.map((s) => s.name)).toEqual(['preflight', 'implementationId', ...(t.network ? ['networkCore'] : []), 'verify']);
    expect(nvmcOperations(binding.operations(session.serialNumber).slice(ops))).toBe(t.network ? 2 : 1);
    expect(result.warnings.join('\n')).toMatch(/earlier run stopped after its keys/);
    expect(result.identityWrapper).toBeUndefined();
    // The key TF-M attests with is the first run's, and the result reports it.
    expect(result.identityPublicKey?.hex).toBe(publicKey);
    expect(await classifyBoot(device, { identityPublicKey: publicKey })).toMatchObject({ verdict: 'boots' });
    expect(device.violations).toEqual([]);
    expect((await provision(session, { bootModel })).outcome).toBe('alreadyProvisioned');
  });

  it('is still refused with ERASEPROTECT set, unless allowed', async () => {
    const { device, session } = await stoppedAfterKeys(chip, { eraseProtect: true });
    const before = device.dump();
    expect(await provision(session, {})).toMatchObject({ outcome: 'refused', errorCode: 'ERASE_PROTECTED', writes: 0 });
    expect(device.dump()).toEqual(before);
  });
});
