/**
 * The host strategy: what the NCS provisioning sample does on the chip, done by the host over the
 * probe. Keys are generated here (all of them before the first write, so a failing RNG or wrapper
 * leaves the device as it was), written slot by slot with each write read back, and zeroed on
 * every path. Also the strategy that finishes an earlier run that stopped after its keys (only the
 * keyless writes are left), whichever strategy was asked for.
 */
import { TfmError } from '../../errors';
import { cryptoRandom, randomSourceOrigin } from '../../random';
import { SAMPLE_MESSAGES } from '../../targets/provisioning-sample';
import type { KmuSlotSpec } from '../../targets';
import { zeroize } from '../../bytes';
import { KMU_VALUE_BYTES, writeKmuSlot, type KmuSlotReading } from '../../device/kmu';
import type { NetworkCoreReading } from '../../device/network-core';
import { describeLifecycle, readLifecycle, setLifecycleProvisioningAndRead } from '../../device/lifecycle';
import { writeImplementationId } from '../../device/uicr';
import { generateHardwareUniqueKeys, slotValues, zeroHardwareUniqueKeys, type HardwareUniqueKeys } from '../../keys/huk';
import { generateIdentityPrivateKey, identityPublicKeyOf, type IdentityPublicKey } from '../../keys/identity';
import { isModelWrapper, modelIdentityKeyWrapper, type IdentityKeyWrapper } from '../../keys/wrapper';
import { buildPlan } from '../plan';
import { lockNetworkCoreByHost, networkCoreStep, writeStep } from './steps';
import type { Expectation, OptionsContext, ProvisioningStrategy, RunContext, StepControl, StrategyPlan } from '../strategy';

/** Everything secret a run holds; zeroed by destroy(). */
class KeyMaterial {
  huks?: HardwareUniqueKeys;
  privateKey?: Uint8Array;
  blob?: Uint8Array;
  destroy(): void {
    zeroHardwareUniqueKeys(this.huks);
    zeroize(this.privateKey, this.blob);
  }
}

export class HostStrategy implements ProvisioningStrategy {
  readonly name = 'host' as const;
  private readonly keys = new KeyMaterial();
  private publicKey?: IdentityPublicKey;
  private readonly wrapper: IdentityKeyWrapper;
  /** The slots this run wrote, as their read-backs found them, and the network core after its lock. */
  private readonly readBack: { slots: KmuSlotReading[]; networkCore?: NetworkCoreReading } = { slots: [] };

  constructor(options: { identityWrapper?: IdentityKeyWrapper }) {
    this.wrapper = options.identityWrapper ?? modelIdentityKeyWrapper;
  }

  checkOptions(context: OptionsContext): void {
    const { options: o, identityKey, implementationId, simulated } = context;
    if (identityKey !== 'generate' && identityKey !== 'skip') {
      throw new TfmError('INVALID_PARAMETER', `identityKey must be 'generate' or 'skip'.`);
    }
    if (implementationId.length !== 32) {
      throw new TfmError('INVALID_PARAMETER', `The implementation ID must be 32 bytes (got ${implementationId.length}).`);
    }
    // Judged by identity (lib/random.ts), not by the source's own `kind`, which any object can claim.
    const origin = randomSourceOrigin(o.random ?? cryptoRandom);
    if (!simulated && origin === 'seeded') {
      throw new TfmError('SEEDED_RANDOM_REFUSED', 'A seeded (deterministic) random source is only accepted on a simulated device; real devices get keys from the OS CSPRNG. Remove the seed.');
    }
    if (!simulated && origin === 'unknown') {
      throw new TfmError(
        'RANDOM_SOURCE_UNTRUSTED',
        'On a device that is not simulated, keys come from the OS CSPRNG (leave `random` out, or pass cryptoRandom) or from a source you vouch for with trustedRandomSource(source). This source is neither.',
      );
    }
    if (identityKey === 'generate' && isModelWrapper(this.wrapper) && !simulated) {
      if (!o.allowModelWrapper) {
        throw new TfmError(
          'IDENTITY_WRAPPER_UNVERIFIED',
          `The identity key wrapper "${this.wrapper.name}" is a model: TF-M on silicon cannot decrypt what it writes, and slots 6/7 stay burnt until an erase-all. Supply a wrapper for the real format (--identity-wrapper), skip the identity key (identityKey: 'skip'), or opt in for an experiment with --allow-model-wrapper.`,
          { details: { wrapper: this.wrapper.name } },
        );
      }
      context.warn('MODEL_WRAPPER_ON_HARDWARE', `The identity key is wrapped with the model "${this.wrapper.name}" on real hardware (opted in): TF-M will not be able to use it.`);
    }
    if (identityKey === 'skip') {
      context.warn('IDENTITY_KEY_SKIPPED', 'The identity key is skipped: TF-M initial attestation will not work until slots 6/7 are written.');
      if (o.bootModel) context.warn('BOOT_MODEL_UNAVAILABLE', "TF-M's first boot is not checked: its provisioning step requires the identity key.");
    }
  }

  async plan(context: RunContext): Promise<StrategyPlan> {
    const { preflight: p, decision } = context;
    const notes: StrategyPlan['notes'] = [];
    if (!decision.writeImplementationId) notes.push({ code: 'IMPLEMENTATION_ID_ALREADY_WRITTEN', message: 'The requested implementation ID is already on the device; it is not written again.' });
    if (p.target.network && !decision.writeNetworkCore) notes.push({ code: 'NETWORK_CORE_ALREADY_LOCKED', message: "The network core's APPROTECT is already set; it is not written again." });
    return { writes: buildPlan(p.target, decision, { identityKey: context.identityKey, implementationId: context.implementationId }), notes };
  }

  async prepare(context: RunContext): Promise<IdentityPublicKey | undefined> {
    if (context.decision.finishOnly) return undefined;
    await context.step('generateKeys', async (control) => this.generateKeys(context, control));
    return this.publicKey;
  }

  private async generateKeys(context: RunContext, control: StepControl): Promise<void> {
    const p = context.preflight;
    const random = context.options.random ?? cryptoRandom;
    this.keys.huks = generateHardwareUniqueKeys(p.target, random);
    if (context.identityKey === 'skip') {
      control.detail = `HUKs (${p.target.huk.size} bytes each)`;
      return;
    }
    this.keys.privateKey = generateIdentityPrivateKey(random);
    this.publicKey = identityPublicKeyOf(this.keys.privateKey);
    let wrapped: Uint8Array;
    try {
      wrapped = await this.wrapper.wrap({ chip: p.chip, mkek: this.keys.huks.mkek, deviceId: p.deviceIdBytes, privateKey: this.keys.privateKey });
    } catch (error) {
      // The wrapper's own message is not repeated: user code may put anything in it.
      throw new TfmError('INVALID_OPERATION', `The identity key wrapper "${this.wrapper.name}" failed (see the error's cause); nothing was written to non-volatile memory.`, { cause: error });
    }
    const expected = KMU_VALUE_BYTES * p.target.identityKey.slots.length;
    if (wrapped instanceof Uint8Array && wrapped.buffer === this.keys.privateKey.buffer) {
      throw new TfmError('INVALID_OPERATION', `The identity key wrapper "${this.wrapper.name}" returned the private key's own buffer instead of a wrapped copy; nothing was written to non-volatile memory.`);
    }
    if (!(wrapped instanceof Uint8Array) || wrapped.length !== expected) {
      if (wrapped instanceof Uint8Array) wrapped.fill(0);
      throw new TfmError('INVALID_OPERATION', `The identity key wrapper "${this.wrapper.name}" returned ${wrapped instanceof Uint8Array ? `${wrapped.length} bytes` : 'no bytes'}, not ${expected}; nothing was written to non-volatile memory.`);
    }
    this.keys.blob = wrapped;
    // d is not needed once it is wrapped and its public key known: zeroed now, not at the end.
    this.keys.privateKey.fill(0);
    control.detail = `HUKs (${p.target.huk.size} bytes each), P-256 identity key, wrapped with ${this.wrapper.name}`;
  }

  async execute(context: RunContext): Promise<Expectation> {
    if (!context.decision.finishOnly) await this.writeLifecycleAndKeys(context);
    await this.writeKeylessSteps(context);
    const identityKey = context.identityKey;
    return {
      verify: { identityBlob: this.keys.blob, identityPublicKey: this.publicKey?.hex },
      // The application core was halted by preflight and nothing ran it since (no reset, no go).
      readBack: { halted: true, slots: this.readBack.slots, networkCore: this.readBack.networkCore },
      describe: ({ bootModel }) => (bootModel && identityKey === 'generate' ? ' (including the TF-M boot model)' : ''),
      identityPublicKey: this.publicKey,
    };
  }

  identityWrapper(context: RunContext): string | undefined {
    return context.identityKey === 'generate' && !context.decision.finishOnly ? this.wrapper.name : undefined;
  }

  destroy(): void {
    this.keys.destroy();
  }

  private async writeSlots(context: RunContext, slots: readonly KmuSlotSpec[], key: Uint8Array): Promise<void> {
    const values = slotValues(key, slots);
    try {
      for (let i = 0; i < slots.length; i++) {
        context.checkAbort();
        this.readBack.slots.push(await writeKmuSlot(context.probe, context.preflight.target, slots[i]!, values[i]!));
      }
    } finally {
      zeroize(...values);
    }
  }

  private async writeLifecycleAndKeys(context: RunContext): Promise<void> {
    const { probe, preflight: p } = context;
    const { target } = p;
    const huks = this.keys.huks!;
    await context.step('lifecycle', async () => {
      // The sample's own check, right before the write: the device may have changed since preflight.
      const before = await readLifecycle(probe, target);
      if (before.state !== 'ASSEMBLY') {
        throw new TfmError('LIFECYCLE_NOT_ASSEMBLY', `Lifecycle state is not ASSEMBLY as expected: ${describeLifecycle(before)}. Nothing was written to non-volatile memory.`, { details: { lifecycle: before.state } });
      }
      context.emit({ type: 'message', text: SAMPLE_MESSAGES.lifecycleAssembly });
      context.markAfterWrite(); // from here the device may have changed, even if the write call fails
      const after = await setLifecycleProvisioningAndRead(probe, target);
      context.noteLifecycle(after.state);
      if (after.state !== 'PROVISIONING') {
        throw new TfmError('VERIFY_FAILED', `Lifecycle state was ${describeLifecycle(after)} after the write, not PROVISIONING.`, { afterWrite: true, details: { lifecycle: after.state } });
      }
      context.emit({ type: 'message', text: SAMPLE_MESSAGES.lifecycleProvisioning });
    });
    context.emit({ type: 'message', text: SAMPLE_MESSAGES.generatingHuks });
    await context.step('mkek', async (c) => {
      await this.writeSlots(context, target.huk.mkek, huks.mkek);
      c.detail = `slot(s) ${target.huk.mkek.map((s) => s.index).join(', ')}`;
    });
    await context.step('mext', async (c) => {
      await this.writeSlots(context, target.huk.mext, huks.mext);
      c.detail = `slot(s) ${target.huk.mext.map((s) => s.index).join(', ')}`;
    });
    await context.step('identityKey', async (c) => {
      if (context.identityKey === 'skip') {
        c.skipped = true;
        c.detail = 'skipped (identityKey: skip)';
        return;
      }
      context.emit({ type: 'message', text: SAMPLE_MESSAGES.writingIdentityKey });
      await this.writeSlots(context, target.identityKey.slots, this.keys.blob!);
      c.detail = `slot(s) ${target.identityKey.slots.map((s) => s.index).join(', ')}, wrapper ${this.wrapper.name}`;
    });
  }

  /** The steps that need no key (also all that is left when finishing an earlier run). */
  private async writeKeylessSteps(context: RunContext): Promise<void> {
    const { probe, preflight: p, decision } = context;
    const { target } = p;
    await writeStep(context, 'implementationId', decision.writeImplementationId ? undefined : 'already on the device', async () => {
      if (!(await writeImplementationId(probe, target, context.implementationId))) {
        throw new TfmError('VERIFY_FAILED', 'The implementation ID did not read back as written.', { afterWrite: true });
      }
    });
    if (target.network) {
      await networkCoreStep(context, async (c) => {
        // Preflight halted the network core when it released FORCEOFF; nothing has run it since.
        const net = p.networkCore;
        this.readBack.networkCore = await lockNetworkCoreByHost(context, { halted: net?.wasForcedOff === true && net.accessible });
        c.detail = 'UICR.APPROTECT = 0: debug access denied after the next reset';
      });
    }
  }
}
