/**
 * The NCS "TF-M: Provisioning image" sample's main() (nrfconnect/sdk-nrf
 * samples/tfm/provisioning_image/src/main.c, the newest version: it checks the return codes of
 * hw_unique_key_write_random(), identity_key_write_random()/_dummy() and provision_implementation_id();
 * the lines it shares with commit 3fc220df are in device-facts 1.1), step by step, with the sample's
 * log lines and failure paths. On nRF53/nRF91 provision_implementation_id() writes 8 words with
 * nrfx_nvmc_word_write (void) and returns 0, so its failure line cannot occur here. Its
 * identity key uses the simulated CryptoCell's wrapping model (../cryptocell.ts). Lines it logs with LOG_INF get Zephyr's prefix (Cpu.log).
 */
import { defaultImplementationId } from '../../targets';
import { bytesFrom, readU32LE } from '../../bytes';
import { SAMPLE_FAILURES as F, SAMPLE_MESSAGES as M } from '../../targets/provisioning-sample';
import { cryptocellWrapIdentityKey } from '../cryptocell';
import { lifecycleNumber } from '../lifecycle';
import { hwUniqueKeyWriteRandom, identityKeyIsWritten, keySlotWritten, keyWritten, kmuWriteSlot, pushMkek, randomScalar } from './kmu-driver';
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
  // err = hw_unique_key_write_random(); if (err != HW_UNIQUE_KEY_SUCCESS) -> failure line.
  if (!(yield* hwUniqueKeyWriteRandom(cpu))) {
    inf(F.hukWriteFailed);
    return result(false, 'Writing random HUK keys failed');
  }

  if (identityKeyIsWritten(cpu)) {
    inf(F.identityKeyAlreadyWritten);
    return result(false, 'Identity key slot already written');
  }
  inf(M.writingIdentityKey);
  // err = identity_key_write_random()/_dummy(); if (err != IDENTITY_KEY_SUCCESS) -> failure line.
  if (!(yield* identityKeyWrite(cpu, config.identityKeyDummy === true))) {
    inf(F.identityKeyWriteFailed);
    return result(false, 'Identity key write failed');
  }

  if (!identityKeyIsWritten(cpu)) {
    inf(F.identityKeyNotWritten);
    return result(false, 'Identity key is not written');
  }

  // provision_implementation_id(): nrfx_nvmc_word_write per word (each its own Wen .. Ren), unchecked.
  const implementationId = config.implementationId ?? defaultImplementationId();
  for (let i = 0; i < 32; i += 4) yield* nvmcWriteWords(cpu, [[t.implementationId.address + i, readU32LE(implementationId, i)]]);

  inf(M.success);
  return result(true, M.success);
}

/** identity_key_write_key() (sdk-nrf lib/identity_key/identity_key.c): true for IDENTITY_KEY_SUCCESS. */
function* identityKeyWrite(cpu: Cpu, dummy: boolean): Generator<number, boolean, void> {
  const t = cpu.target;
  const err = (text: string): boolean => {
    cpu.log('identity_key', text, 'err');
    return false;
  };
  if (!keyWritten(cpu, t.huk.mkek)) return err('Could not find the MKEK!'); // -IDENTITY_KEY_ERR_MKEK_MISSING
  if (dummy) cpu.log('identity_key', 'WARNING: Using a dummy identity key not meant for production!', 'wrn');
  const d = dummy ? bytesFrom(DUMMY_IDENTITY_KEY_HEX, 32, 'dummy key') : randomScalar(cpu.host);
  yield 15_000; // PSA key generation and export
  try {
    // nrf_cc3xx_platform_identity_key_store(6): refuses filled slots, needs the MKEK in the CryptoCell.
    // The platform library's error numbers are not public: the log line shows the simulator's -1.
    if (t.identityKey.slots.some((s) => keySlotWritten(cpu, s.index))) return err('Identity key write failed! Error: -1');
    const mkek = pushMkek(cpu);
    if (!mkek) return err('Identity key write failed! Error: -1');
    const blob = cryptocellWrapIdentityKey(mkek, cpu.host.deviceIdBytes(), d);
    mkek.fill(0);
    yield 2_000;
    try {
      for (let i = 0; i < t.identityKey.slots.length; i++) {
        if (!(yield* kmuWriteSlot(cpu, t.identityKey.slots[i]!, blob.subarray(16 * i, 16 * i + 16)))) return err('Identity key write failed! Error: -1');
      }
    } finally {
      blob.fill(0);
    }
    return true;
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
