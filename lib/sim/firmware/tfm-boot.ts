/**
 * TF-M's boot on nRF5340 / nRF91 with CONFIG_TFM_NRF_PROVISIONING, in the order the sources run it.
 * Modelled: TF-M 2.1.2 .. 2.3.0 (nrfconnect/sdk-trusted-firmware-m tags ncs-v3.1.0 .. ncs-v3.4.0, NCS
 * v3.1 .. v3.4) with the sdk-nrf board code of the same era; the version only changes the banner and
 * the instance-ID formula (tfm-attest.ts).
 *
 * secure_fw/spm/core/main.c tfm_core_init() (sdk-tfm ncs-v3.2.0 l.28-99):
 *   tfm_hal_platform_init()  -- sdk-nrf modules/trusted-firmware-m/tfm_boards/common/tfm_hal_platform.c
 *     1. init_debug() (platform/ext/target/nordic_nrf/common/core/target_cfg_53_91.c): with
 *        NRF_APPROTECT / NRF_SECURE_APPROTECT (CONFIG_NRF_APPROTECT_LOCK, CONFIG_NRF_SECURE_APPROTECT_LOCK)
 *        configure_approtect_nvmc() writes UICR.APPROTECT and SECUREAPPROTECT = Protected (0) on every
 *        boot, writable-checked; without them no UICR write.
 *     2. crypto_platform_init(): CONFIG_HW_UNIQUE_KEY_RANDOM and no HUK written (hw_unique_key_are_any_written)
 *        -> "Writing random Hardware Unique Keys to the KMU." and hw_unique_key_write_random(); a failure
 *        is TFM_HAL_ERROR_BAD_STATE.
 *     3. NRF_PROVISIONING: lifecycle must be PSA_ROT_PROVISIONING or SECURED, else
 *        SPMLOG_ERRMSGVAL("Invalid LCS: ", lcs) and BAD_STATE (the boot stops before the banner).
 *   banner "Booting TF-M <version>"
 *   tfm_plat_provisioning_is_required() / _perform() -- sdk-nrf tfm_boards/common/nrf_provisioning.c
 *     (newest version): any HUK written; identity key written (presence only: identity_key_is_written,
 *     no decryption); verify_debug_disabled(): both UICR words Protected; nRF5340 with
 *     PM_CPUNET_APP_ADDRESS or CONFIG_TFM_HAS_B0N: disable_netcore_debug() through PCD, b0n locking
 *     the network core's debug port; SECURED written and read back; system reset.
 *   tfm_plat_provisioning_check_for_dummy_keys(): identity_key_read() (this one decrypts) and a
 *     compare with the dummy key's first 8 bytes; a key that does not decrypt is silently "not dummy".
 * So a device booted unprovisioned ends up locked and holding TF-M's own HUKs, and a badly wrapped
 * identity key reaches SECURED: it fails only at attestation (tfm-attest.ts).
 */
import type { ErrorCode } from '../../errors';
import { toHex } from '../../bytes';
import type { SimLifecycleReading, TfmBootResult } from '../types';
import { p256PublicKey } from '../p256';
import { hwUniqueKeysAnyWritten, hwUniqueKeyWriteRandom, identityKeyIsWritten, retrieveIdentityKey } from './kmu-driver';
import { DUMMY_IDENTITY_KEY_HEX, SIM_MARKER_TFM_NO_APPROTECT_LOCK, SIM_MARKER_TFM_NO_B0N, SIM_MARKER_TFM_NO_HUK_RANDOM, SIM_MARKER_TFM_PROFILE_PSA_2_0_0, TFM_IMAGE_MARKER } from './markers';
import { bootDelay, Cpu, halfwordWrite, nvmcWriteWords, readLifecycle, type FirmwareHost, type FirmwareModelSpec, type FirmwareResult, type Model } from './model';
import { DEFAULT_TFM_VERSION, defaultTfmConfig, simInstanceId, tfmInstanceIdFormula, tfmSecurityLifecycle, type TfmBuildConfig } from './tfm-config';

/** nrf_provisioning.c waits 1 s after releasing the network core before it polls the PCD command. */
const NETCORE_LOCK_WAIT_US = 1_000_000;

export function* tfmBootModel(host: FirmwareHost, config: TfmBuildConfig = defaultTfmConfig()): Model {
  const cpu = new Cpu(host, 'application');
  const t = host.target;
  const formula = tfmInstanceIdFormula(config.version);
  const base = { tfmVersion: config.version, instanceIdFormula: formula, tokenProfile: config.tokenProfile };
  const result = (ok: boolean, lifecycle: SimLifecycleReading, message: string, extra: Partial<TfmBootResult> = {}): FirmwareResult => ({
    kind: 'tfm',
    ok,
    message,
    tfm: { ok, lifecycle, message, ...base, ...extra },
  });
  const fail = (errorCode: ErrorCode, message: string, lifecycle: SimLifecycleReading, extra: Partial<TfmBootResult> = {}): FirmwareResult =>
    result(false, lifecycle, message, { errorCode, ...extra });
  yield* bootDelay(cpu, 30_000);

  // --- tfm_hal_platform_init ---
  // 1. init_debug() -> configure_approtect_nvmc(): every boot; writing 0 over 0 is harmless, so only
  //    words not yet 0 are written (the writable check cannot fail: the NVMC only clears bits).
  if (config.approtectLock) {
    const words: Array<[number, number]> = [];
    for (const address of [t.uicr.approtect, t.uicr.secureApprotect]) {
      if (cpu.read(address) !== t.uicr.approtectProtected) words.push([address, t.uicr.approtectProtected]);
    }
    if (words.length > 0) yield* nvmcWriteWords(cpu, words);
  }
  // 2. crypto_platform_init(): TF-M's own HUKs when none is present.
  let hukWritten = false;
  if (config.hukRandom && !hwUniqueKeysAnyWritten(cpu)) {
    cpu.printk('Writing random Hardware Unique Keys to the KMU.');
    const written = yield* hwUniqueKeyWriteRandom(cpu);
    if (!written) return fail('HUK_MISSING', 'hw_unique_key_write_random failed: TF-M stops in tfm_hal_platform_init (BAD_STATE).', readLifecycle(cpu));
    hukWritten = true;
    cpu.printk('Success');
  }
  // 3. The lifecycle check (NRF_PROVISIONING), after the two writes above.
  const lcs = readLifecycle(cpu);
  if (lcs !== 'PROVISIONING' && lcs !== 'SECURED') {
    const slc = tfmSecurityLifecycle(lcs);
    cpu.printk(`Invalid LCS: 0x${slc.toString(16).toUpperCase().padStart(8, '0')}`);
    const code: ErrorCode = lcs === 'INVALID' ? 'LIFECYCLE_INVALID' : 'TFM_LIFECYCLE_REFUSED';
    return fail(code, `Invalid LCS: TF-M with NRF_PROVISIONING boots only in PROVISIONING or SECURED, the device is in ${lcs} (tfm_hal_platform_init: BAD_STATE). Debug lock and HUKs were applied first.`, lcs, { hukWritten });
  }

  // --- main.c: banner, then provisioning ---
  cpu.printk(`\x1b[1;34m${TFM_IMAGE_MARKER} v${config.version}\x1b[0m`);
  if (lcs === 'PROVISIONING') {
    if (!hwUniqueKeysAnyWritten(cpu)) {
      cpu.printk('This device has not been provisioned with Hardware Unique Keys.');
      return fail('HUK_MISSING', 'Provisioning: no hardware unique key in the KMU.', lcs, { hukWritten });
    }
    if (!identityKeyIsWritten(cpu)) {
      cpu.printk('This device has not been provisioned with an Initial Attestation Key.');
      return fail('IDENTITY_KEY_MISSING', 'Provisioning: no identity key in KMU slots 6/7.', lcs, { hukWritten });
    }
    // verify_debug_disabled(): whole-word compare with UICR_(SECURE)APPROTECT_PALL_Protected; no message.
    if (cpu.read(t.uicr.approtect) !== t.uicr.approtectProtected || cpu.read(t.uicr.secureApprotect) !== t.uicr.approtectProtected) {
      return fail('TFM_PROVISIONING_FAILED', 'Provisioning: UICR APPROTECT / SECUREAPPROTECT are not 0 (verify_debug_disabled; build without CONFIG_NRF_APPROTECT_LOCK?).', lcs, { hukWritten });
    }
    if (t.network && config.networkDebugLock) {
      const locked = yield* disableNetcoreDebug(cpu);
      if (!locked) {
        cpu.printk('Failed to lock debug in network core.');
        return fail('TFM_PROVISIONING_FAILED', 'Provisioning: the network core did not confirm the debug lock (PCD).', lcs, { hukWritten });
      }
    }
    // tfm_attest_update_security_lifecycle_otp(SECURED): one halfword write of `secure`, then read back.
    yield* halfwordWrite(cpu, t.lifecycle.secure, 0x0000);
    const after = readLifecycle(cpu);
    if (after !== 'SECURED') {
      return fail('TFM_PROVISIONING_FAILED', `Provisioning: the lifecycle did not move to SECURED (reads ${after}).`, after, { hukWritten });
    }
    const message = 'Provisioned on first boot: PROVISIONING -> SECURED, debug access locked; system reset.';
    return { kind: 'tfm', ok: true, message, resetRequested: true, tfm: { ok: true, lifecycle: 'SECURED', message, ...base, hukWritten } };
  }

  // SECURED: tfm_plat_provisioning_check_for_dummy_keys() decrypts the identity key; a failure is silent.
  let identityPublicKey: string | undefined;
  let instanceId: string | undefined;
  const key = retrieveIdentityKey(cpu);
  if (key.d) {
    if (toHex(key.d.subarray(0, 8)) === DUMMY_IDENTITY_KEY_HEX.slice(0, 16)) cpu.printk('This device was provisioned with dummy keys and is NOT secure.');
    // Simulator-only knowledge (TF-M prints neither): the key it will attest with.
    const publicKey = p256PublicKey(key.d);
    key.d.fill(0);
    identityPublicKey = toHex(publicKey);
    instanceId = simInstanceId(publicKey, formula);
  }
  cpu.printk('\x1b[1;34m[Sec Thread] Secure image initializing!\x1b[0m');
  const message = identityPublicKey
    ? 'TF-M booted in SECURED; the initial attestation key decrypts.'
    : 'TF-M booted in SECURED; the identity key does not decrypt (silent at boot), so initial attestation will fail.';
  return result(true, 'SECURED', message, { ...(identityPublicKey ? { identityPublicKey, instanceId } : {}), hukWritten });
}

/**
 * nrf_provisioning.c disable_netcore_debug(): RESET secure, FORCEOFF, PCD "lock debug" command,
 * release, wait; b0n on the network core (sdk-nrf subsys/pcd, modelled here) locks its own UICR.APPROTECT
 * and marks the command done. True when the lock is confirmed.
 */
function* disableNetcoreDebug(cpu: Cpu): Generator<number, boolean, void> {
  const net = cpu.target.network!;
  cpu.write(net.forceOff, 1);
  yield 100;
  cpu.write(net.forceOff, 0);
  // b0n starts, reads the command, writes its UICR.APPROTECT = Protected and reports done.
  const b0n = new Cpu(cpu.host, 'network');
  yield 5_000;
  if (b0n.read(net.approtect) !== cpu.target.uicr.approtectProtected) yield* nvmcWriteWords(b0n, [[net.approtect, cpu.target.uicr.approtectProtected]]);
  yield NETCORE_LOCK_WAIT_US;
  return b0n.read(net.approtect) === cpu.target.uicr.approtectProtected;
}

/** The build a TF-M image holds: its banner's version, and the simulator-only markers for its Kconfig. */
export function tfmConfigFromImage(has: (text: string) => boolean, versionIn: () => string | undefined): TfmBuildConfig {
  return defaultTfmConfig({
    version: versionIn() ?? DEFAULT_TFM_VERSION,
    approtectLock: !has(SIM_MARKER_TFM_NO_APPROTECT_LOCK),
    hukRandom: !has(SIM_MARKER_TFM_NO_HUK_RANDOM),
    networkDebugLock: !has(SIM_MARKER_TFM_NO_B0N),
    tokenProfile: has(SIM_MARKER_TFM_PROFILE_PSA_2_0_0) ? 'PSA_2_0_0' : 'PSA_IOT_1',
  });
}

const BANNER_VERSION = new RegExp(`${TFM_IMAGE_MARKER} v?(2\\.\\d+\\.\\d+)`);

/** An application image holding TF-M's boot banner runs this model. */
export const tfmBoot: FirmwareModelSpec<TfmBuildConfig> = {
  kind: 'tfm',
  core: 'application',
  recognise: (image) => {
    if (!image.has(TFM_IMAGE_MARKER)) return undefined;
    return tfmConfigFromImage(image.has, () => {
      for (const run of image.runs) {
        const m = BANNER_VERSION.exec(run.toString('latin1'));
        if (m) return m[1];
      }
      return undefined;
    });
  },
  start: (host, config) => tfmBootModel(host, config),
};
