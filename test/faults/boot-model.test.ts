/** The classifier is the fault sweep's judge; these pin its verdicts with a stand-in device. */
import { type BootableDevice, classifyBoot, type TfmBootOutcome } from '../support/boot-model';

class StandIn implements BootableDevice {
  boots = 0;
  clones = 0;
  constructor(private readonly outcome: TfmBootOutcome, private readonly parent?: StandIn) {}
  clone(): BootableDevice {
    (this.parent ?? this).clones++;
    return new StandIn(this.outcome, this);
  }
  bootTfm(): TfmBootOutcome {
    (this.parent ?? this).boots++;
    if (!this.parent) throw new Error('the device under test itself was booted');
    return this.outcome;
  }
}

const key = `04${'ab'.repeat(64)}`;

describe('boot-model classifier', () => {
  test('a device that boots to SECURED with the reported key is "boots"', async () => {
    const device = new StandIn({ ok: true, lifecycle: 'SECURED', identityPublicKey: key, instanceId: `01${'cd'.repeat(32)}` });
    const result = await classifyBoot(device, { identityPublicKey: key.toUpperCase(), instanceId: `01${'cd'.repeat(32)}` });
    expect(result.verdict).toBe('boots');
    expect(device.clones).toBe(1);
  });

  test('a refused boot is "rejected" with the model\'s error code', async () => {
    const result = await classifyBoot(new StandIn({ ok: false, lifecycle: 'ASSEMBLY', errorCode: 'LIFECYCLE_INVALID', message: 'Invalid LCS' }));
    expect(result).toMatchObject({ verdict: 'rejected', errorCode: 'LIFECYCLE_INVALID', reason: 'Invalid LCS' });
  });

  test('a boot that does not reach SECURED is "rejected"', async () => {
    expect((await classifyBoot(new StandIn({ ok: true, lifecycle: 'PROVISIONING' }))).verdict).toBe('rejected');
  });

  test('booting with another key than the reported one is "wrong-identity"', async () => {
    const device = new StandIn({ ok: true, lifecycle: 'SECURED', identityPublicKey: key });
    expect((await classifyBoot(device, { identityPublicKey: `04${'ef'.repeat(64)}` })).verdict).toBe('wrong-identity');
  });

  test('a different instance ID is "wrong-identity"', async () => {
    const device = new StandIn({ ok: true, lifecycle: 'SECURED', identityPublicKey: key, instanceId: '01aa' });
    expect((await classifyBoot(device, { instanceId: '01bb' })).verdict).toBe('wrong-identity');
  });

  test('the device under test is never booted itself, only a clone', async () => {
    const device = new StandIn({ ok: true, lifecycle: 'SECURED' });
    await classifyBoot(device);
    expect(device.clones).toBe(1);
  });
});
