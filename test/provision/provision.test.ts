/**
 * The provisioning sequence on the simulator, for each chip: full provisioning that TF-M's first
 * boot (the simulator's model, on a copy) accepts with the key we report; re-runs, dry runs and
 * every refusal leave the device byte-for-byte as it was.
 */
import { provision, SAMPLE_MESSAGES, type ProvisionEvent, type ProvisionResultFields } from '../../lib/provision';
import { cryptoRandom, seededRandom } from '../../lib/random';
import { KMU_PERM_HUK, KMU_PERM_IDENTITY, getTarget } from '../../lib/targets';
import { classifyBoot } from '../support/boot-model';
import { instanceId22 } from '../support/instance-id';
import { CHIPS, DEVICE_ID, asRealProbe, nvmcOperations, simDevice } from './helpers';

const FIVE_LINES = [
  SAMPLE_MESSAGES.lifecycleAssembly,
  SAMPLE_MESSAGES.lifecycleProvisioning,
  SAMPLE_MESSAGES.generatingHuks,
  SAMPLE_MESSAGES.writingIdentityKey,
  SAMPLE_MESSAGES.success,
];

describe.each(CHIPS)('%s', (chip) => {
  const target = getTarget(chip);

  it('provisions a fresh device that TF-M first boot takes to SECURED with the reported identity key', async () => {
    const { device, session, bootModel } = await simDevice(chip);
    const events: ProvisionEvent[] = [];
    const result: ProvisionResultFields = await provision(session, { random: seededRandom(`full-${chip}`), bootModel, onEvent: (e) => events.push(e) });

    expect(result).toMatchObject({ ok: true, outcome: 'provisioned', chip, deviceId: DEVICE_ID, lifecycleBefore: 'ASSEMBLY', lifecycleAfter: 'PROVISIONING', afterWrite: true });
    expect(result.errorCode).toBeUndefined();
    expect(device.violations).toEqual([]);
    // The sample's five lines, in order, and nothing else as messages.
    expect(events.filter((e) => e.type === 'message').map((e) => (e as { text: string }).text)).toEqual(FIVE_LINES);
    expect(result.steps.map((s) => s.name)).toEqual(['preflight', 'generateKeys', 'lifecycle', 'mkek', 'mext', 'identityKey', 'implementationId', ...(target.network ? ['networkCore'] : []), 'verify']);
    expect(result.steps.every((s) => s.ok)).toBe(true);
    expect(result.operations).toBe(result.steps.reduce((n, s) => n + s.operations, 0));

    // What is on the chip, chip-off.
    const dump = device.dump();
    expect(dump.lifecycle).toBe('PROVISIONING');
    const slot = (i: number) => dump.kmuSlots.find((s) => s.index === i);
    for (const spec of [...target.huk.mkek, ...target.huk.mext]) expect(slot(spec.index)).toMatchObject({ dest: spec.dest, perm: KMU_PERM_HUK });
    for (const spec of target.identityKey.slots) expect(slot(spec.index)).toMatchObject({ dest: 0xffffffff, perm: KMU_PERM_IDENTITY });
    expect(dump.implementationId).toBe('aa'.repeat(8) + 'bb'.repeat(8) + 'cc'.repeat(8) + 'dd'.repeat(8));

    // The reported key: SEC1 hex, PEM, instance ID of TF-M 2.2 (the default) = 0x01 || SHA-256(COSE_Key);
    // and TF-M boots and attests with it.
    const hex = result.identityPublicKey!.hex;
    expect(hex).toMatch(/^04[0-9a-f]{128}$/);
    expect(result.identityPublicKey!.pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(result.instanceIdFormula).toBe('2.2');
    expect(result.instanceId).toBe(instanceId22(Buffer.from(hex, 'hex')));
    expect(result.verification?.boot).toMatchObject({ ok: true, identityMatches: true, instanceId: result.instanceId });
    expect(result.verification?.attestation).toMatchObject({ ok: true, errorCodes: [] });
    const verdict = await classifyBoot(device, { identityPublicKey: hex, instanceId: result.instanceId });
    expect(verdict).toMatchObject({ verdict: 'boots' });
    // Verification ran on a copy: the device itself is still PROVISIONING.
    expect(device.dump().lifecycle).toBe('PROVISIONING');
  });

  it('a re-run reports alreadyProvisioned with zero writes and leaves the device unchanged', async () => {
    const { binding, device, session, bootModel } = await simDevice(chip);
    const first: ProvisionResultFields = await provision(session, { random: seededRandom(1), bootModel });
    expect(first.ok).toBe(true);
    const before = device.dump();
    const opsBefore = binding.operations(session.serialNumber).length;
    const again: ProvisionResultFields = await provision(session, { random: seededRandom(2), bootModel });
    expect(again).toMatchObject({ ok: true, outcome: 'alreadyProvisioned', writes: 0, lifecycleBefore: 'PROVISIONING', lifecycleAfter: 'PROVISIONING' });
    expect(nvmcOperations(binding.operations(session.serialNumber).slice(opsBefore))).toBe(0);
    expect(device.dump()).toEqual(before);
    // The boot model tells us the key TF-M will attest with: the one the first run reported.
    expect(again.identityPublicKey?.hex).toBe(first.identityPublicKey?.hex);
  });

  it('a dry run reads everything, returns the plan with placeholders and writes nothing', async () => {
    const { binding, device, session } = await simDevice(chip);
    const before = device.dump();
    const random = { kind: 'csprng' as const, fill: jest.fn((t: Uint8Array) => cryptoRandom.fill(t)) };
    const result: ProvisionResultFields = await provision(session, { dryRun: true, random });
    expect(result).toMatchObject({ ok: true, outcome: 'dryRun', writes: 0, afterWrite: false });
    expect(random.fill).not.toHaveBeenCalled(); // no key is even generated
    expect(nvmcOperations(binding.operations(session.serialNumber))).toBe(0);
    expect(device.dump()).toEqual(before);
    const plan = result.plan!;
    expect(plan[0]).toMatchObject({ step: 'lifecycle', address: `0x${target.otp.base.toString(16).toUpperCase().padStart(8, '0')}`, value: '0xFFFF0000', nvmc: true });
    expect(plan.filter((w) => w.size === 16).every((w) => /^<(MKEK|MEXT|IDENTITY_KEY_BLOB)\[\d+\.\.\d+\]>$/.test(w.value))).toBe(true);
    expect(plan.some((w) => w.step === 'networkCore')).toBe(target.network !== undefined);
    expect(result.identityPublicKey).toBeUndefined();
  });

  it("provisions everything but the identity key with identityKey: 'skip', and a re-run agrees", async () => {
    const { device, session, bootModel } = await simDevice(chip);
    const result: ProvisionResultFields = await provision(session, { identityKey: 'skip', random: seededRandom(3), bootModel });
    expect(result).toMatchObject({ ok: true, outcome: 'provisioned' });
    expect(result.identityPublicKey).toBeUndefined();
    expect(result.steps.find((s) => s.name === 'identityKey')).toMatchObject({ skipped: true, operations: 0 });
    expect(device.dump().kmuSlots.map((s) => s.index)).toEqual([...target.huk.mkek, ...target.huk.mext].map((s) => s.index));
    expect((await provision(session, { identityKey: 'skip', bootModel })).outcome).toBe('alreadyProvisioned');
    // Asking for the identity key now: the host cannot add it (it has no MKEK), so it is partial.
    expect(await provision(session, { bootModel })).toMatchObject({ outcome: 'refused', errorCode: 'PARTIALLY_PROVISIONED', missing: ['identityKey'] });
  });

  it('writes a caller-supplied implementation ID', async () => {
    const { device, session, bootModel } = await simDevice(chip);
    const id = Uint8Array.from({ length: 32 }, (_, i) => i);
    const result: ProvisionResultFields = await provision(session, { implementationId: id, random: seededRandom(4), bootModel });
    expect(result).toMatchObject({ ok: true, implementationId: Buffer.from(id).toString('hex') });
    expect(device.dump().implementationId).toBe(Buffer.from(id).toString('hex'));
    expect(await provision(session, { bootModel })).toMatchObject({ outcome: 'refused', errorCode: 'IMPLEMENTATION_ID_CONFLICT' });
  });
});
