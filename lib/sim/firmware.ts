/**
 * Models of the firmware that matters for provisioning, run on the simulated CPU through the same
 * NVMC/KMU/OTP rules as the probe (their accesses are recorded with by = 'firmware'):
 *
 * - the NCS "TF-M: Provisioning image" sample's main() (device-facts 1.1), step by step, with the
 *   sample's log lines and failure paths; its identity key uses the wrapping model;
 * - the network-core child image (device-facts 1.2): network UICR.APPROTECT = 0;
 * - TF-M's first boot with CONFIG_TFM_NRF_PROVISIONING (device-facts section 6).
 *
 * A model is a generator that yields how many microseconds of virtual time to wait before its next
 * step, so a host polling through the probe sees it progress (and can race it). Lines the sample
 * logs with LOG_INF get Zephyr's `[hh:mm:ss.mmm,uuu] <inf> module: ` prefix; printk lines are bare.
 */
import { createHash } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { unwrapIdentityKeyModel, wrapIdentityKeyModel } from '../keys/wrapping-model';
import type { ErrorCode } from '../errors';
import {
  ERASED_WORD,
  defaultImplementationId,
  kmuDestAddress,
  kmuPermAddress,
  kmuValueAddress,
  KMU_PERM_IDENTITY,
  NVMC_REN,
  NVMC_WEN,
  type KmuSlotSpec,
} from '../targets';
import { bytesFrom, readU32LE, toHex, writeU32LE } from './bytes';
import { nvmcRegisters } from './layout';
import type { SimulatedDevice } from './device';
import type { SimCoreName, SimLifecycle, TfmBootResult } from './types';

export type FirmwareKind = 'provisioning-image' | 'network-image' | 'tfm';

export interface FirmwareResult {
  kind: FirmwareKind;
  ok: boolean;
  message: string;
  tfm?: TfmBootResult;
  /** The firmware ends with a system reset (TF-M after PROVISIONING -> SECURED). */
  resetRequested?: boolean;
}

type Model = Generator<number, FirmwareResult, void>;

/** A string every build of the provisioning sample contains (its LOG_INF format strings). */
export const PROVISIONING_IMAGE_MARKER = 'Successfully verified PSA lifecycle state ASSEMBLY!';
/** A string every build of the network-core sample contains. */
export const NETWORK_IMAGE_MARKER = 'The UICR->APPROTECT register is now configured to deny debugging access for the network core!';
/** TF-M's boot banner ("Booting TF-M <version>"): an application image holding it runs the TF-M model. */
export const TFM_IMAGE_MARKER = 'Booting TF-M';
/** Simulator-only knobs for synthetic images: an image containing these strings configures the model. */
export const SIM_MARKER_IDENTITY_KEY_DUMMY = 'TFM_PROVISION_SIM:CONFIG_IDENTITY_KEY_DUMMY=y';
export const SIM_MARKER_IMPLEMENTATION_ID = 'TFM_PROVISION_SIM:IMPLEMENTATION_ID=';
/** A build for a board without SOC_NRF53_CPUNET_ENABLE: the image leaves the network core held off. */
export const SIM_MARKER_NO_CPUNET_ENABLE = 'TFM_PROVISION_SIM:CONFIG_SOC_NRF53_CPUNET_ENABLE=n';

/** TF-M's tfm_initial_attestation_key.pem private scalar (device-facts 4): the "dummy" identity key. */
export const DUMMY_IDENTITY_KEY_HEX = 'a9b454b26d6f90a4ea31193564cba91fec6f9a002a7dc0504b92a1937134585f';

/** Every log string of the two samples (device-facts 1.1, 1.2), as a real build contains them. */
export const PROVISIONING_IMAGE_STRINGS = [
  'Failure: Cannot read PSA lifecycle state. Exiting!',
  'Failure: Lifecycle state is not ASSEMBLY as expected. Exiting!',
  PROVISIONING_IMAGE_MARKER,
  'Failure: Cannot set PSA lifecycle state PROVISIONING. Exiting!',
  'Lifecycle state was %d',
  'Failure: Lifecycle state is not PROVISION as expected. Exiting!',
  'Successfully switched to PSA lifecycle state PROVISIONING!',
  'Generating random HUK keys (including MKEK)',
  'Failure: Identity key slot already written. Exiting!',
  'Writing the identity key to KMU',
  'Failure: Identity key is not written! Exiting!',
  'Success!',
];
export const NETWORK_IMAGE_STRINGS = ['Cannot write to the UICR->APPROTECT register, exiting...!', NETWORK_IMAGE_MARKER, 'Success!'];

const LCS_NUMBER: Record<SimLifecycle | 'invalid', number> = { invalid: 0, assembly: 1, provisioning: 2, secured: 3, decommissioned: 4 };

/** The CPU's view of the bus on one core: firmware accesses obey the same rules as the probe's. */
class Cpu {
  readonly nvmc: { ready: number; config: number };
  constructor(
    readonly dev: SimulatedDevice,
    readonly core: SimCoreName,
  ) {
    this.nvmc = nvmcRegisters(dev.target, dev.core(core).spec);
  }
  read(address: number): number {
    return this.dev.readWord(this.core, address, 'firmware');
  }
  write(address: number, value: number): void {
    this.dev.writeWord(this.core, address, value, 'firmware');
  }
  /** Microseconds until NVMC READY. */
  busy(): number {
    return Math.max(0, this.dev.core(this.core).busyUntil - this.dev.nowUs);
  }
  /** Zephyr LOG_INF / LOG_ERR line. */
  log(module: string, text: string, level: 'inf' | 'err' | 'wrn' = 'inf'): void {
    this.dev.print(this.core, `[${zephyrTime(this.dev.uptimeUs(this.core))}] <${level}> ${module}: ${text}`);
  }
  printk(text: string): void {
    this.dev.print(this.core, text);
  }
}

function zephyrTime(us: number): string {
  const total = Math.floor(us);
  const micros = total % 1000;
  const millis = Math.floor(total / 1000) % 1000;
  const seconds = Math.floor(total / 1_000_000);
  const p = (n: number, w: number): string => String(n).padStart(w, '0');
  return `${p(Math.floor(seconds / 3600), 2)}:${p(Math.floor(seconds / 60) % 60, 2)}:${p(seconds % 60, 2)}.${p(millis, 3)},${p(micros, 3)}`;
}

/** nrfx_nvmc_words_write: CONFIG = Wen, each word followed by a wait for READY, CONFIG = Ren. */
function* nvmcWriteWords(cpu: Cpu, words: Array<[number, number]>): Generator<number, void, void> {
  cpu.write(cpu.nvmc.config, NVMC_WEN);
  for (const [address, value] of words) {
    cpu.write(address, value);
    yield cpu.busy();
  }
  cpu.write(cpu.nvmc.config, NVMC_REN);
}

/** nrfx_nvmc_halfword_write: a word write, the other half masked as 0xFFFF. */
function* halfwordWrite(cpu: Cpu, address: number, value: number): Generator<number, void, void> {
  const word = address & ~3;
  const full = address & 2 ? ((value << 16) | 0xffff) >>> 0 : (0xffff0000 | value) >>> 0;
  yield* nvmcWriteWords(cpu, [[word, full]]);
}

/** bl_storage read_life_cycle_state: word reads of the OTP, three halves decoded. */
function readLifecycle(cpu: Cpu): SimLifecycle | 'invalid' {
  const t = cpu.dev.target;
  const w0 = cpu.read(t.lifecycle.provisioning);
  const w1 = cpu.read(t.lifecycle.reserved);
  const key = [w0 & 0xffff, w0 >>> 16, w1 >>> 16].map((h) => (h === 0xffff ? 'F' : h === 0 ? '0' : 'x')).join('');
  return ({ FFF: 'assembly', '0FF': 'provisioning', '00F': 'secured', '000': 'decommissioned' } as Record<string, SimLifecycle>)[key] ?? 'invalid';
}

/** hw_unique_key key_written(slot): selected, any of PERM, DEST, VALUE[0..3] not erased. */
function keySlotWritten(cpu: Cpu, index: number): boolean {
  const t = cpu.dev.target;
  cpu.write(t.kmu.selectKeySlot, index + 1);
  let written = cpu.read(kmuPermAddress(t, index)) !== ERASED_WORD || cpu.read(kmuDestAddress(t, index)) !== ERASED_WORD;
  for (let o = 0; o < 4 && !written; o++) written = cpu.read(kmuValueAddress(t, index) + 4 * o) !== ERASED_WORD;
  cpu.write(t.kmu.selectKeySlot, 0);
  return written;
}

function keyWritten(cpu: Cpu, slots: KmuSlotSpec[]): boolean {
  return slots.some((s) => keySlotWritten(cpu, s.index));
}

/** Older identity_key_is_written: PERM of slots 6 and 7 (selected) both equal 0xFFFFFFFA. */
function identityKeyIsWritten(cpu: Cpu): boolean {
  const t = cpu.dev.target;
  return t.identityKey.slots.every((s) => {
    cpu.write(t.kmu.selectKeySlot, s.index + 1);
    const perm = cpu.read(kmuPermAddress(t, s.index));
    cpu.write(t.kmu.selectKeySlot, 0);
    return perm === KMU_PERM_IDENTITY;
  });
}

/** nrf_cc3xx_platform_kmu_write_key_slot: refuse a filled slot, then select, DEST, VALUE, PERM, deselect. */
function* kmuWriteSlot(cpu: Cpu, spec: KmuSlotSpec, key: Uint8Array): Generator<number, boolean, void> {
  const t = cpu.dev.target;
  if (keySlotWritten(cpu, spec.index)) return false; // NRF_CC3XX_PLATFORM_ERROR_KMU_ALREADY_FILLED
  cpu.write(cpu.nvmc.config, NVMC_WEN);
  cpu.write(t.kmu.selectKeySlot, spec.index + 1);
  const words: Array<[number, number]> = [];
  if (spec.dest !== undefined) words.push([kmuDestAddress(t, spec.index), spec.dest]);
  for (let o = 0; o < 4; o++) words.push([kmuValueAddress(t, spec.index) + 4 * o, readU32LE(key, 4 * o)]);
  words.push([kmuPermAddress(t, spec.index), spec.perm]);
  for (const [address, value] of words) {
    cpu.write(address, value);
    yield cpu.busy();
  }
  cpu.write(t.kmu.selectKeySlot, 0);
  cpu.write(cpu.nvmc.config, NVMC_REN);
  return true;
}

/** Pushes the MKEK slots into the CryptoCell and returns the key the CryptoCell now holds (16 or
 *  32 bytes), or undefined when a push failed. The caller zeroes the result. */
function pushMkek(cpu: Cpu): Uint8Array | undefined {
  const t = cpu.dev.target;
  for (const slot of t.huk.mkek) {
    cpu.write(t.kmu.selectKeySlot, slot.index + 1);
    cpu.write(t.kmu.eventsPushed, 0);
    cpu.write(t.kmu.tasksPushKeyslot, 1);
    const pushed = cpu.read(t.kmu.eventsPushed) === 1;
    cpu.write(t.kmu.selectKeySlot, 0);
    if (!pushed) return undefined;
  }
  const mkek = new Uint8Array(t.huk.size);
  for (let i = 0; i < t.huk.size / 16; i++) {
    const part = cpu.dev.cryptocellKey(t.cryptocell.aesKeyAddresses[i]!);
    if (!part) return undefined;
    mkek.set(part, 16 * i);
    part.fill(0);
  }
  return mkek;
}

function deviceIdBytes(dev: SimulatedDevice): Uint8Array {
  return bytesFrom(dev.deviceId, 8, 'Device ID');
}

function randomScalar(dev: SimulatedDevice): Uint8Array {
  const d = new Uint8Array(32);
  do dev.random.fill(d);
  while (!p256.utils.isValidSecretKey(d));
  return d;
}

/** Reads slots 6/7 (readable, encrypted), pushes the MKEK and unwraps with the model. */
function retrieveIdentityKey(cpu: Cpu): { d?: Uint8Array; error?: ErrorCode; message: string } {
  const t = cpu.dev.target;
  const blob = new Uint8Array(32);
  t.identityKey.slots.forEach((slot, i) => {
    cpu.write(t.kmu.selectKeySlot, slot.index + 1);
    for (let o = 0; o < 4; o++) writeU32LE(blob, 16 * i + 4 * o, cpu.read(kmuValueAddress(t, slot.index) + 4 * o));
    cpu.write(t.kmu.selectKeySlot, 0);
  });
  const mkek = pushMkek(cpu);
  if (!mkek) {
    blob.fill(0);
    return { error: 'IDENTITY_KEY_INVALID', message: 'The MKEK could not be pushed to the CryptoCell (slot not pushable, revoked or wrong DEST), so the identity key cannot be decrypted.' };
  }
  const d = unwrapIdentityKeyModel(mkek, deviceIdBytes(cpu.dev), blob);
  mkek.fill(0);
  blob.fill(0);
  if (!p256.utils.isValidSecretKey(d)) {
    d.fill(0);
    return { error: 'IDENTITY_KEY_INVALID', message: 'The identity key in KMU slots 6/7 does not decrypt to a valid P-256 private key with this device\'s MKEK (wrapping model v1).' };
  }
  return { d, message: 'ok' };
}

function* bootDelay(cpu: Cpu, us: number): Generator<number, void, void> {
  cpu.dev.rttInit(cpu.dev.core(cpu.core));
  yield us;
}

// -------------------------------------------------------------------------------------------------
// The provisioning image (samples/tfm/provisioning_image/src/main.c)

export interface ProvisioningImageConfig {
  /** CONFIG_IDENTITY_KEY_DUMMY: write TF-M's well-known test key instead of a random one. */
  identityKeyDummy?: boolean;
  /** The image's implementation ID (default: the sample's AA..BB..CC..DD). */
  implementationId?: Uint8Array;
  /** nRF5340: SOC_NRF53_CPUNET_ENABLE (default true, as on the nRF5340 DK): release FORCEOFF at boot. */
  networkCoreEnable?: boolean;
}

export function* provisioningImageModel(dev: SimulatedDevice, config: ProvisioningImageConfig = {}): Model {
  const cpu = new Cpu(dev, 'application');
  const t = dev.target;
  const result = (ok: boolean, message: string): FirmwareResult => ({ kind: 'provisioning-image', ok, message });
  yield* bootDelay(cpu, 20_000);
  cpu.printk('*** Booting nRF Connect SDK (tfm-provision simulator: provisioning image model) ***');
  // SOC_NRF53_CPUNET_ENABLE (the board configuration the sample uses on nRF5340): release the network core.
  if (t.network && config.networkCoreEnable !== false) cpu.write(t.network.forceOff, 0);
  yield 1_000;
  const inf = (text: string): void => cpu.log('provisioning_image', text);

  let lcs = readLifecycle(cpu);
  if (lcs === 'invalid') {
    inf('Failure: Cannot read PSA lifecycle state. Exiting!');
    return result(false, 'Cannot read PSA lifecycle state');
  }
  if (lcs !== 'assembly') {
    inf('Failure: Lifecycle state is not ASSEMBLY as expected. Exiting!');
    return result(false, `Lifecycle state is ${lcs}, not ASSEMBLY`);
  }
  inf(PROVISIONING_IMAGE_MARKER);
  yield 200;

  // update_life_cycle_state(PROVISIONING): re-reads, allows only the single step, one halfword write.
  const current = readLifecycle(cpu);
  if (current !== 'assembly' && current !== 'provisioning') {
    inf('Failure: Cannot set PSA lifecycle state PROVISIONING. Exiting!');
    return result(false, 'Cannot set PSA lifecycle state PROVISIONING');
  }
  if (current === 'assembly') yield* halfwordWrite(cpu, t.lifecycle.provisioning, 0x0000);

  lcs = readLifecycle(cpu);
  if (lcs === 'invalid') {
    inf('Failure: Cannot read PSA lifecycle state. Exiting!');
    return result(false, 'Cannot read PSA lifecycle state after the update');
  }
  if (lcs !== 'provisioning') {
    inf(`Lifecycle state was ${LCS_NUMBER[lcs]}`);
    inf('Failure: Lifecycle state is not PROVISION as expected. Exiting!');
    return result(false, `Lifecycle state is ${lcs} after the update`);
  }
  inf('Successfully switched to PSA lifecycle state PROVISIONING!');
  yield 200;

  inf('Generating random HUK keys (including MKEK)');
  // hw_unique_key_write_random(); the sample ignores its return value.
  if (keyWritten(cpu, t.huk.mkek) || keyWritten(cpu, t.huk.mext)) {
    cpu.printk('One or more keys already set. Cannot overwrite');
  } else {
    const keys = dev.random.fill(new Uint8Array(t.huk.size * 2)); // the CTR_DRBG output, modelled
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
    inf('Failure: Identity key slot already written. Exiting!');
    return result(false, 'Identity key slot already written');
  }
  inf('Writing the identity key to KMU');
  // identity_key_write_random()/_dummy(); return value ignored.
  yield* identityKeyWrite(cpu, config.identityKeyDummy === true);

  if (!identityKeyIsWritten(cpu)) {
    inf('Failure: Identity key is not written! Exiting!');
    return result(false, 'Identity key is not written');
  }

  // provision_implementation_id(): 8 whole words (both halves of each written at once).
  const implementationId = config.implementationId ?? defaultImplementationId();
  const words: Array<[number, number]> = [];
  for (let i = 0; i < 32; i += 4) words.push([t.implementationId.address + i, readU32LE(implementationId, i)]);
  yield* nvmcWriteWords(cpu, words);

  inf('Success!');
  return result(true, 'Success!');
}

function* identityKeyWrite(cpu: Cpu, dummy: boolean): Generator<number, void, void> {
  const t = cpu.dev.target;
  if (!keyWritten(cpu, t.huk.mkek)) return; // -IDENTITY_KEY_ERR_MKEK_MISSING
  const d = dummy ? bytesFrom(DUMMY_IDENTITY_KEY_HEX, 32, 'dummy key') : randomScalar(cpu.dev);
  yield 15_000; // PSA key generation and export
  try {
    // nrf_cc3xx_platform_identity_key_store(6): refuses filled slots, needs the MKEK in the CryptoCell.
    if (t.identityKey.slots.some((s) => keySlotWritten(cpu, s.index))) return;
    const mkek = pushMkek(cpu);
    if (!mkek) return;
    const blob = wrapIdentityKeyModel(mkek, deviceIdBytes(cpu.dev), d);
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

// -------------------------------------------------------------------------------------------------
// The network-core image (samples/tfm/provisioning_image_net_core/src/main.c)

export function* networkImageModel(dev: SimulatedDevice): Model {
  const cpu = new Cpu(dev, 'network');
  yield* bootDelay(cpu, 5_000);
  // nrfx_nvmc_word_writable_check(&APPROTECT, 0) is always true: (0 & current) == 0.
  yield* nvmcWriteWords(cpu, [[dev.core('network').spec.approtect, dev.target.uicr.approtectProtected]]);
  cpu.printk(NETWORK_IMAGE_MARKER);
  cpu.printk('Success!');
  return { kind: 'network-image', ok: true, message: 'Success!' };
}

// -------------------------------------------------------------------------------------------------
// TF-M first boot with CONFIG_TFM_NRF_PROVISIONING (device-facts section 6)

export function* tfmBootModel(dev: SimulatedDevice): Model {
  const cpu = new Cpu(dev, 'application');
  const t = dev.target;
  yield* bootDelay(cpu, 30_000);
  cpu.printk(`[INF] ${TFM_IMAGE_MARKER} (tfm-provision simulator: TF-M first-boot model)`);
  const fail = (errorCode: ErrorCode, message: string, lifecycle: SimLifecycle | 'invalid'): FirmwareResult => {
    cpu.printk(`[ERR] ${message}`);
    return { kind: 'tfm', ok: false, message, tfm: { ok: false, lifecycle, errorCode, message } };
  };

  const lcs = readLifecycle(cpu);
  if (lcs === 'invalid') return fail('LIFECYCLE_INVALID', 'Invalid LCS: the lifecycle words in UICR OTP do not decode (tfm_hal_platform_init: BAD_STATE).', 'invalid');
  if (lcs !== 'provisioning' && lcs !== 'secured') {
    return fail('TFM_LIFECYCLE_REFUSED', `Invalid LCS: TF-M with NRF_PROVISIONING boots only in PROVISIONING or SECURED, the device is in ${lcs.toUpperCase()}.`, lcs);
  }

  // init_debug() -> configure_approtect_nvmc(): APPROTECT and SECUREAPPROTECT to Protected, if not already.
  const lockWords: Array<[number, number]> = [];
  for (const address of [t.uicr.approtect, t.uicr.secureApprotect]) {
    if (cpu.read(address) !== t.uicr.approtectProtected) lockWords.push([address, t.uicr.approtectProtected]);
  }
  if (lockWords.length > 0) yield* nvmcWriteWords(cpu, lockWords);

  if (lcs === 'provisioning') {
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
    if (after !== 'secured') {
      return fail('TFM_PROVISIONING_FAILED', `Provisioning: the lifecycle did not move to SECURED (reads ${after.toUpperCase()}).`, after);
    }
    cpu.printk('[INF] Provisioning done: lifecycle PSA_ROT_PROVISIONING -> SECURED, resetting');
    const message = 'Provisioned on first boot: PROVISIONING -> SECURED, debug access locked; system reset.';
    return { kind: 'tfm', ok: true, message, resetRequested: true, tfm: { ok: true, lifecycle: 'secured', message } };
  }

  // SECURED: the attestation partition reads the identity key (IAK).
  if (!identityKeyIsWritten(cpu)) return fail('IDENTITY_KEY_MISSING', 'Initial attestation: no identity key in KMU slots 6/7.', lcs);
  const key = retrieveIdentityKey(cpu);
  if (!key.d) return fail(key.error!, `Initial attestation: ${key.message}`, lcs);
  if (toHex(key.d.subarray(0, 8)) === DUMMY_IDENTITY_KEY_HEX.slice(0, 16)) {
    cpu.printk('[ERR] This device was provisioned with the dummy identity key (tfm_initial_attestation_key.pem)');
  }
  const publicKey = p256.getPublicKey(key.d, false);
  key.d.fill(0);
  const identityPublicKey = toHex(publicKey);
  const instanceId = '01' + createHash('sha256').update(publicKey).digest('hex');
  cpu.printk(`[INF] Initial attestation instance ID ${instanceId}`);
  const message = 'TF-M booted in SECURED; initial attestation key available.';
  return { kind: 'tfm', ok: true, message, tfm: { ok: true, lifecycle: 'secured', identityPublicKey, instanceId, message } };
}

/** bootTfm(): runs the TF-M model synchronously, including the reset and second boot after provisioning. */
export function runTfmBoot(dev: SimulatedDevice): TfmBootResult {
  const app = dev.core('application');
  const drain = (): FirmwareResult => {
    app.bootTimeUs = dev.nowUs;
    const gen = tfmBootModel(dev);
    for (;;) {
      const step = gen.next();
      if (step.done) return step.value;
      dev.nowUs += Math.max(0, step.value);
    }
  };
  const first = drain();
  let result = first.tfm!;
  if (first.resetRequested) {
    dev.systemReset({ debuggerHalts: true });
    const second = drain().tfm!;
    result = second.ok ? { ...second, message: `${first.message} ${second.message}` } : second;
  }
  // TF-M keeps running; a later go() must not start anything else.
  app.running = true;
  app.firmwareStarted = true;
  return result;
}

// -------------------------------------------------------------------------------------------------
// Image detection

/** Contiguous runs of non-erased flash on a core, as byte buffers. */
function flashRuns(dev: SimulatedDevice, core: SimCoreName): Buffer[] {
  const c = dev.core(core);
  const pages = [...c.flash.keys()].sort((a, b) => a - b);
  const runs: Buffer[] = [];
  let current: Buffer[] = [];
  let next = -1;
  for (const page of pages) {
    const words = c.flash.get(page)!;
    const bytes = Buffer.alloc(words.length * 4);
    words.forEach((w, i) => bytes.writeUInt32LE(w, 4 * i));
    if (page !== next && current.length) {
      runs.push(Buffer.concat(current));
      current = [];
    }
    current.push(bytes);
    next = page + c.spec.flash.pageSize;
  }
  if (current.length) runs.push(Buffer.concat(current));
  return runs;
}

/** Decides which model a core's flash holds. */
export function detectFirmware(dev: SimulatedDevice, core: SimCoreName): { kind: FirmwareKind; start: () => Model } | undefined {
  const runs = flashRuns(dev, core);
  const has = (s: string): boolean => runs.some((r) => r.includes(s, 0, 'latin1'));
  if (core === 'network') return has(NETWORK_IMAGE_MARKER) ? { kind: 'network-image', start: () => networkImageModel(dev) } : undefined;
  if (has(PROVISIONING_IMAGE_MARKER)) {
    const config: ProvisioningImageConfig = { identityKeyDummy: has(SIM_MARKER_IDENTITY_KEY_DUMMY), networkCoreEnable: !has(SIM_MARKER_NO_CPUNET_ENABLE) };
    for (const run of runs) {
      const at = run.indexOf(SIM_MARKER_IMPLEMENTATION_ID, 0, 'latin1');
      if (at >= 0) {
        const hex = run.subarray(at + SIM_MARKER_IMPLEMENTATION_ID.length, at + SIM_MARKER_IMPLEMENTATION_ID.length + 64).toString('latin1');
        if (/^[0-9a-fA-F]{64}$/u.test(hex)) config.implementationId = bytesFrom(hex, 32, 'implementation ID');
      }
    }
    return { kind: 'provisioning-image', start: () => provisioningImageModel(dev, config) };
  }
  if (has(TFM_IMAGE_MARKER)) return { kind: 'tfm', start: () => tfmBootModel(dev) };
  return undefined;
}
