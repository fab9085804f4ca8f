/**
 * TF-M's first boot with CONFIG_TFM_NRF_PROVISIONING (device-facts section 6: sdk-nrf
 * modules/trusted-firmware-m/tfm_boards/common/{nrf_provisioning.c, tfm_hal_platform.c,
 * attest_hal.c}): lifecycle check, APPROTECT locking, PROVISIONING -> SECURED with a reset, and
 * in SECURED the initial attestation key.
 */
import { createHash } from 'node:crypto';
import { p256PublicKey } from '../p256';
import type { ErrorCode } from '../../errors';
import { toHex } from '../../bytes';
import type { SimLifecycleReading } from '../types';
import { identityKeyIsWritten, keyWritten, retrieveIdentityKey } from './kmu-driver';
import { DUMMY_IDENTITY_KEY_HEX, TFM_IMAGE_MARKER } from './markers';
import { bootDelay, Cpu, halfwordWrite, nvmcWriteWords, readLifecycle, type FirmwareHost, type FirmwareModelSpec, type FirmwareResult, type Model } from './model';

export function* tfmBootModel(host: FirmwareHost): Model {
  const cpu = new Cpu(host, 'application');
  const t = host.target;
  yield* bootDelay(cpu, 30_000);
  cpu.printk(`[INF] ${TFM_IMAGE_MARKER} (tfm-provision simulator: TF-M first-boot model)`);
  const fail = (errorCode: ErrorCode, message: string, lifecycle: SimLifecycleReading): FirmwareResult => {
    cpu.printk(`[ERR] ${message}`);
    return { kind: 'tfm', ok: false, message, tfm: { ok: false, lifecycle, errorCode, message } };
  };

  const lcs = readLifecycle(cpu);
  if (lcs === 'INVALID') return fail('LIFECYCLE_INVALID', 'Invalid LCS: the lifecycle words in UICR OTP do not decode (tfm_hal_platform_init: BAD_STATE).', 'INVALID');
  if (lcs !== 'PROVISIONING' && lcs !== 'SECURED') {
    return fail('TFM_LIFECYCLE_REFUSED', `Invalid LCS: TF-M with NRF_PROVISIONING boots only in PROVISIONING or SECURED, the device is in ${lcs}.`, lcs);
  }

  // init_debug() -> configure_approtect_nvmc(): APPROTECT and SECUREAPPROTECT to Protected, if not already.
  const lockWords: Array<[number, number]> = [];
  for (const address of [t.uicr.approtect, t.uicr.secureApprotect]) {
    if (cpu.read(address) !== t.uicr.approtectProtected) lockWords.push([address, t.uicr.approtectProtected]);
  }
  if (lockWords.length > 0) yield* nvmcWriteWords(cpu, lockWords);

  if (lcs === 'PROVISIONING') {
    // tfm_plat_provisioning_perform()
    if (!keyWritten(cpu, t.huk.mkek) || !keyWritten(cpu, t.huk.mext)) {
      return fail('HUK_MISSING', 'Provisioning: the hardware unique keys (MKEK and MEXT) are not both in the KMU.', lcs);
    }
    if (!identityKeyIsWritten(cpu)) {
      return fail('IDENTITY_KEY_MISSING', 'Provisioning: no identity key in KMU slots 6/7 (PERM 0xFFFFFFFA).', lcs);
    }
    const key = retrieveIdentityKey(cpu);
    if (!key.d) return fail(key.error!, `Provisioning: ${key.message}`, lcs);
    key.d.fill(0);
    if (cpu.read(t.uicr.approtect) !== t.uicr.approtectProtected || cpu.read(t.uicr.secureApprotect) !== t.uicr.approtectProtected) {
      return fail('TFM_PROVISIONING_FAILED', 'Provisioning: UICR APPROTECT / SECUREAPPROTECT could not be set to 0.', lcs);
    }
    // update_life_cycle_state(SECURED): one halfword write of `secure`, then read back.
    yield* halfwordWrite(cpu, t.lifecycle.secure, 0x0000);
    const after = readLifecycle(cpu);
    if (after !== 'SECURED') {
      return fail('TFM_PROVISIONING_FAILED', `Provisioning: the lifecycle did not move to SECURED (reads ${after}).`, after);
    }
    cpu.printk('[INF] Provisioning done: lifecycle PSA_ROT_PROVISIONING -> SECURED, resetting');
    const message = 'Provisioned on first boot: PROVISIONING -> SECURED, debug access locked; system reset.';
    return { kind: 'tfm', ok: true, message, resetRequested: true, tfm: { ok: true, lifecycle: 'SECURED', message } };
  }

  // SECURED: the attestation partition reads the identity key (IAK).
  if (!identityKeyIsWritten(cpu)) return fail('IDENTITY_KEY_MISSING', 'Initial attestation: no identity key in KMU slots 6/7.', lcs);
  const key = retrieveIdentityKey(cpu);
  if (!key.d) return fail(key.error!, `Initial attestation: ${key.message}`, lcs);
  if (toHex(key.d.subarray(0, 8)) === DUMMY_IDENTITY_KEY_HEX.slice(0, 16)) {
    cpu.printk('[ERR] This device was provisioned with the dummy identity key (tfm_initial_attestation_key.pem)');
  }
  const publicKey = p256PublicKey(key.d);
  key.d.fill(0);
  const identityPublicKey = toHex(publicKey);
  const instanceId = '01' + createHash('sha256').update(publicKey).digest('hex');
  cpu.printk(`[INF] Initial attestation instance ID ${instanceId}`);
  const message = 'TF-M booted in SECURED; initial attestation key available.';
  return { kind: 'tfm', ok: true, message, tfm: { ok: true, lifecycle: 'SECURED', identityPublicKey, instanceId, message } };
}


/** An application image holding TF-M's boot banner runs this model. */
export const tfmBoot: FirmwareModelSpec<true> = {
  kind: 'tfm',
  core: 'application',
  recognise: (image) => (image.has(TFM_IMAGE_MARKER) ? true : undefined),
  start: (host) => tfmBootModel(host),
};
