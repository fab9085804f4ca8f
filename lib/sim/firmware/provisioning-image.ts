/**
 * The NCS "TF-M: Provisioning image" sample's main() (nrfconnect/sdk-nrf
 * samples/tfm/provisioning_image/src/main.c, commit 3fc220df; device-facts 1.1), step by step, with the sample's log lines and failure paths; its
 * identity key uses the simulated CryptoCell's wrapping model (../cryptocell.ts). Lines it logs with LOG_INF get Zephyr's prefix (Cpu.log).
 */
import { defaultImplementationId, type KmuSlotSpec } from '../../targets';
import { bytesFrom, readU32LE } from '../../bytes';
import { SAMPLE_FAILURES as F, SAMPLE_MESSAGES as M } from '../../targets/provisioning-sample';
import { cryptocellWrapIdentityKey } from '../cryptocell';
import { lifecycleNumber } from '../lifecycle';
import { identityKeyIsWritten, keySlotWritten, keyWritten, kmuWriteSlot, pushMkek, randomScalar } from './kmu-driver';
import { DUMMY_IDENTITY_KEY_HEX, PROVISIONING_IMAGE_MARKER, SIM_MARKER_IDENTITY_KEY_DUMMY, SIM_MARKER_IMPLEMENTATION_ID, SIM_MARKER_NO_CPUNET_ENABLE } from './markers';
import { bootDelay, Cpu, halfwordWrite, nvmcWriteWords, readLifecycle, type FirmwareHost, type FirmwareModelSpec, type FirmwareResult, type Model } from './model';

export interface ProvisioningImageConfig {
  /** CONFIG_IDENTITY_KEY_DUMMY: write TF-M's well-known test key instead of a random one. */
  identityKeyDummy?: boolean;
  /** The image's implementation ID (default: the sample's AA..BB..CC..DD). */
  implementationId?: Uint8Array;
  /** nRF5340: SOC_NRF53_CPUNET_ENABLE (default true, as on the nRF5340 DK): release FORCEOFF at boot. */
  networkCoreEnable?: boolean;
}

export function* provisioningImageModel(host: FirmwareHost, config: ProvisioningImageConfig = {}): Model {
  const cpu = new Cpu(host, 'application');
  const t = host.target;
  const result = (ok: boolean, message: string): FirmwareResult => ({ kind: 'provisioning-image', ok, message });
  yield* bootDelay(cpu, 20_000);
  cpu.printk('*** Booting nRF Connect SDK (tfm-provision simulator: provisioning image model) ***');
  // SOC_NRF53_CPUNET_ENABLE (the board configuration the sample uses on nRF5340): release the network core.
  if (t.network && config.networkCoreEnable !== false) cpu.write(t.network.forceOff, 0);
  yield 1_000;
  const inf = (text: string): void => cpu.log('provisioning_image', text);

  let lcs = readLifecycle(cpu);
  if (lcs === 'INVALID') {
    inf(F.cannotReadLifecycle);
    return result(false, 'Cannot read PSA lifecycle state');
  }
  if (lcs !== 'ASSEMBLY') {
    inf(F.notAssembly);
    return result(false, `Lifecycle state is ${lcs}, not ASSEMBLY`);
  }
  inf(M.lifecycleAssembly);
  yield 200;

  // update_life_cycle_state(PROVISIONING): re-reads, allows only the single step, one halfword write.
  const current = readLifecycle(cpu);
  if (current !== 'ASSEMBLY' && current !== 'PROVISIONING') {
    inf(F.cannotSetProvisioning);
    return result(false, 'Cannot set PSA lifecycle state PROVISIONING');
  }
  if (current === 'ASSEMBLY') yield* halfwordWrite(cpu, t.lifecycle.provisioning, 0x0000);

  lcs = readLifecycle(cpu);
  if (lcs === 'INVALID') {
    inf(F.cannotReadLifecycle);
    return result(false, 'Cannot read PSA lifecycle state after the update');
  }
  if (lcs !== 'PROVISIONING') {
    inf(F.lifecycleWas.replace('%d', String(lifecycleNumber(lcs))));
    inf(F.notProvisioning);
    return result(false, `Lifecycle state is ${lcs} after the update`);
  }
  inf(M.lifecycleProvisioning);
  yield 200;

  inf(M.generatingHuks);
  // hw_unique_key_write_random(); the sample ignores its return value.
  if (keyWritten(cpu, t.huk.mkek) || keyWritten(cpu, t.huk.mext)) {
    cpu.printk('One or more keys already set. Cannot overwrite');
  } else {
    const keys = host.random.fill(new Uint8Array(t.huk.size * 2)); // the CTR_DRBG output, modelled
    yield 8_000;
    const groups: Array<[KmuSlotSpec[], number]> = [
      [t.huk.mkek, 0],
      [t.huk.mext, t.huk.size],
    ];
    for (const [slots, offset] of groups) {
      for (let i = 0; i < slots.length; i++) {
        yield* kmuWriteSlot(cpu, slots[i]!, keys.subarray(offset + 16 * i, offset + 16 * i + 16));
      }
    }
    keys.fill(0);
  }

  if (identityKeyIsWritten(cpu)) {
    inf(F.identityKeyAlreadyWritten);
    return result(false, 'Identity key slot already written');
  }
  inf(M.writingIdentityKey);
  // identity_key_write_random()/_dummy(); return value ignored.
  yield* identityKeyWrite(cpu, config.identityKeyDummy === true);

  if (!identityKeyIsWritten(cpu)) {
    inf(F.identityKeyNotWritten);
    return result(false, 'Identity key is not written');
  }

  // provision_implementation_id(): 8 whole words (both halves of each written at once).
  const implementationId = config.implementationId ?? defaultImplementationId();
  const words: Array<[number, number]> = [];
  for (let i = 0; i < 32; i += 4) words.push([t.implementationId.address + i, readU32LE(implementationId, i)]);
  yield* nvmcWriteWords(cpu, words);

  inf(M.success);
  return result(true, M.success);
}

function* identityKeyWrite(cpu: Cpu, dummy: boolean): Generator<number, void, void> {
  const t = cpu.target;
  if (!keyWritten(cpu, t.huk.mkek)) return; // -IDENTITY_KEY_ERR_MKEK_MISSING
  const d = dummy ? bytesFrom(DUMMY_IDENTITY_KEY_HEX, 32, 'dummy key') : randomScalar(cpu.host);
  yield 15_000; // PSA key generation and export
  try {
    // nrf_cc3xx_platform_identity_key_store(6): refuses filled slots, needs the MKEK in the CryptoCell.
    if (t.identityKey.slots.some((s) => keySlotWritten(cpu, s.index))) return;
    const mkek = pushMkek(cpu);
    if (!mkek) return;
    const blob = cryptocellWrapIdentityKey(mkek, cpu.host.deviceIdBytes(), d);
    mkek.fill(0);
    yield 2_000;
    for (let i = 0; i < t.identityKey.slots.length; i++) {
      yield* kmuWriteSlot(cpu, t.identityKey.slots[i]!, blob.subarray(16 * i, 16 * i + 16));
    }
    blob.fill(0);
  } finally {
    d.fill(0);
  }
}

/** Recognised by the sample's format strings; the simulator-only markers configure it. */
export const provisioningImage: FirmwareModelSpec<ProvisioningImageConfig> = {
  kind: 'provisioning-image',
  core: 'application',
  recognise(image) {
    if (!image.has(PROVISIONING_IMAGE_MARKER)) return undefined;
    const config: ProvisioningImageConfig = { identityKeyDummy: image.has(SIM_MARKER_IDENTITY_KEY_DUMMY), networkCoreEnable: !image.has(SIM_MARKER_NO_CPUNET_ENABLE) };
    for (const run of image.runs) {
      const at = run.indexOf(SIM_MARKER_IMPLEMENTATION_ID, 0, 'latin1');
      if (at >= 0) {
        const hex = run.subarray(at + SIM_MARKER_IMPLEMENTATION_ID.length, at + SIM_MARKER_IMPLEMENTATION_ID.length + 64).toString('latin1');
        if (/^[0-9a-fA-F]{64}$/u.test(hex)) config.implementationId = bytesFrom(hex, 32, 'implementation ID');
      }
    }
    return config;
  },
  start: (host, config) => provisioningImageModel(host, config),
};
