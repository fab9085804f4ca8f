/**
 * The image strategy: the stock NCS provisioning image does the provisioning on the chip (so the
 * identity key is encrypted by the chip's own CryptoCell library and never exists off-chip), and the
 * host drives it over the probe: program it, run it, watch it, check the result, remove it.
 *
 * It runs inside the same provisioning run as the host strategy (lib/provision/provision.ts): the
 * same preflight and decision before it, the same events, steps, result, records and error codes
 * around it, and the same verification after it. Only the part in the middle differs, which is
 * this module:
 *
 *   checkImages   parse and range-check every image (nothing touched yet)
 *   programImage  halt, erase exactly the image's pages, program, verify the pages by read-back
 *   runImage      reset, go; follow the console and the chip until Success!/Failure/timeout; halt
 *   removeImage   erase the image's pages again (never UICR: that would erase the keys)
 *   networkCore   nRF5340: lock the network core by the host's own write, or by running --net-image
 *   programApp    optional application image, pages only
 *   verify        the host strategy's verification, identity slots checked by PERM (contents are
 *                 encrypted by the chip and unknown here)
 *   startApp      with an application image: reset and let it run
 */
import { TfmError } from '../errors';
import type { ProbeSession } from '../probe/types';
import { ERASED_WORD, type Target } from '../targets';
import { hex32 } from '../bytes';
import { lockNetworkCore, releaseNetworkCore } from '../device/network-core';
import { readApplicationUicr } from '../device/uicr';
import type { LifecycleState } from '../device/lifecycle';
import { describePublicKey, type IdentityPublicKey } from '../keys/identity';
import type { Decision } from '../provision/decide';
import type { ProvisionEvent, WarningCode } from '../provision/events';
import { SAMPLE_MESSAGES, type SampleMessage } from '../targets/provisioning-sample';
import { buildPlan } from '../provision/plan';
import { assessComponents, readDeviceState, type Preflight } from '../provision/preflight';
import type { BootModel, ComponentName, IrreversibleContext, PlannedWrite, StepName, VerifyResult } from '../provision/types';
import { verify } from '../provision/verify';
import { compareImplementationId } from '../device/uicr';
import type { ImageConsole } from './console';
import {
  DEFAULT_BLOCK_SIZE,
  describeMismatch,
  eraseImagePages,
  findNonErasedPage,
  findPageMismatch,
  planProgramBlocks,
  programImageBlocks,
  type ProgramBlock,
} from './flash';
import { loadImage, parseImage, type FirmwareImage, type ImageRole } from './intel-hex';
import { RttConsole, scrubRttControlBlocks } from './rtt';
import {
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_SUCCESS_GRACE_MS,
  checkTimeout,
  clockForSession,
  watchImageRun,
  type ChipProgress,
  type ImageRunReport,
  type RunClock,
} from './run';
import { openSerialConsole, type SerialConsoleOptions } from './serial-console';

/** An image: a file path, or Intel HEX content (text or bytes) with a name for messages. */
export type ImageInput = string | { hex: string | Uint8Array; name?: string };

/** Where the image's console comes from. */
export type ImageConsoleOption = 'rtt' | 'none' | ({ serialPort: string } & Omit<SerialConsoleOptions, 'path'>);

/** The image strategy's options (flat in ProvisionOptions). */
export interface ImageStrategyOptions {
  /** The provisioning image (a build of samples/tfm/provisioning_image for this board). Required. */
  image?: ImageInput;
  /** nRF5340: the network-core image (provisioning_image_net_core); without it the host locks the
   *  network core itself, as in the host strategy. */
  netImage?: ImageInput;
  /** Application image programmed after provisioning (e.g. TF-M + app); started after verification. */
  app?: ImageInput;
  /** Default 'rtt': the SEGGER RTT up channel through the probe, when the image has one. */
  console?: ImageConsoleOption;
  /** Known RTT control-block address (from the image's map file); default: search the core's RAM. */
  rttAddress?: number;
  /** Give up on the image after this long (default 60 s; on the simulator, virtual time). */
  imageTimeoutMs?: number;
  /** Interval between polls of console and chip (default 100 ms). */
  pollIntervalMs?: number;
  /** Largest single flash write (default 4 KiB). */
  blockSize?: number;
  /** Time source; default: the session's virtual clock on the simulator, else the wall clock. */
  clock?: RunClock;
}

/** What the surrounding provisioning run lends the strategy: its probe, steps, events and state. */
export interface StrategyHost {
  /** The run's (operation-counting) session. */
  probe: ProbeSession;
  preflight: Preflight;
  decision: Decision;
  implementationId: Uint8Array;
  dryRun: boolean;
  bootModel?: BootModel;
  beforeIrreversible?: (context: IrreversibleContext) => void | Promise<void>;
  step<T>(name: StepName, body: (control: { detail?: string; skipped?: boolean }) => Promise<T>): Promise<T>;
  emit(event: ProvisionEvent): void;
  warn(code: WarningCode, message: string): void;
  /** From now on the device may hold irreversible state (the image may have written UICR). */
  markAfterWrite(): void;
  /** The network core's lock is begun: the run leaves RESET.NETWORK.FORCEOFF released. */
  markNetworkCoreLock(): void;
  checkAbort(): void;
}

export interface ImageStrategyOutcome {
  dryRun: boolean;
  plan: PlannedWrite[];
  verification?: VerifyResult;
  /** Only when the image printed it (the stock sample does not). */
  identityPublicKey?: IdentityPublicKey;
  lifecycleAfter?: LifecycleState;
}

export interface CheckedImages {
  provisioning: FirmwareImage;
  network?: FirmwareImage;
  application?: FirmwareImage;
}

async function readImage(input: ImageInput, target: Target, role: ImageRole): Promise<FirmwareImage> {
  if (typeof input === 'string') return loadImage(input, { target, role });
  if (input && (typeof input.hex === 'string' || input.hex instanceof Uint8Array)) {
    return parseImage(input.hex, { target, role, source: input.name ?? `${role} image` });
  }
  throw new TfmError('INVALID_PARAMETER', `The ${role} image must be a file path or { hex, name }.`);
}

/** Step 2 of the flow: every image parsed and range-checked before anything is written. */
export async function checkImages(target: Target, options: ImageStrategyOptions): Promise<CheckedImages> {
  if (options.image === undefined) {
    throw new TfmError('INVALID_PARAMETER', "The image strategy needs the provisioning image (option `image`, CLI --image provisioning.hex).");
  }
  if (options.netImage !== undefined && !target.network) {
    throw new TfmError('INVALID_PARAMETER', `${target.displayName} has no network core: leave out the network-core image.`);
  }
  const checked: CheckedImages = { provisioning: await readImage(options.image, target, 'provisioning') };
  if (options.netImage !== undefined) checked.network = await readImage(options.netImage, target, 'network');
  if (options.app !== undefined) checked.application = await readImage(options.app, target, 'application');
  return checked;
}

const imageName = (image: FirmwareImage): string => (image.role === 'provisioning' ? 'provisioning image' : image.role === 'network' ? 'network-core image' : 'application image');

/** The dry-run plan: page erases and program blocks per image, and the UICR writes the image makes. */
export function planImageStrategy(
  target: Target,
  decision: Decision,
  images: CheckedImages,
  implementationId: Uint8Array,
  blockSize = DEFAULT_BLOCK_SIZE,
  debugWords: DebugWordToOpen[] = [],
): PlannedWrite[] {
  if (decision.action !== 'provision') return [];
  const plan: PlannedWrite[] = [];
  const programEntries = (image: FirmwareImage, step: StepName): void => {
    for (const page of image.pages) {
      plan.push({ step, core: image.core, address: hex32(page), size: image.pageSize, value: 'erase', nvmc: true, purpose: `erase flash page for the ${imageName(image)}` });
    }
    for (const block of planProgramBlocks(image, blockSize)) {
      plan.push({ step, core: image.core, address: hex32(block.address), size: block.data.length, value: `<${image.source}>`, nvmc: true, purpose: `program the ${imageName(image)}` });
    }
  };
  programEntries(images.provisioning, 'programImage');
  for (const word of debugWords) {
    plan.push({ step: 'runImage', core: word.core, address: hex32(word.address), size: 4, value: hex32(target.uicr.approtectUnprotected), nvmc: true, purpose: `${word.name} = open, so the reset that starts the image keeps the debug port open (it was erased)` });
  }
  // What the image writes when it runs: the same UICR writes as the host strategy, made on the chip.
  const byImage = buildPlan(target, { ...decision, writeNetworkCore: false }, { identityKey: 'generate', implementationId });
  for (const write of byImage) {
    plan.push({ ...write, step: 'runImage', value: write.value.startsWith('<') ? '<generated on the chip>' : write.value, purpose: `by the provisioning image: ${write.purpose}` });
  }
  for (const page of images.provisioning.pages) {
    plan.push({ step: 'removeImage', core: 'application', address: hex32(page), size: images.provisioning.pageSize, value: 'erase', nvmc: true, purpose: 'erase the provisioning image' });
  }
  if (target.network && decision.writeNetworkCore) {
    if (images.network) {
      programEntries(images.network, 'networkCore');
      plan.push({ step: 'networkCore', core: 'network', address: hex32(target.network.approtect), size: 4, value: hex32(0), nvmc: true, purpose: 'by the network-core image: UICR.APPROTECT = Protected' });
      for (const page of images.network.pages) {
        plan.push({ step: 'networkCore', core: 'network', address: hex32(page), size: images.network.pageSize, value: 'erase', nvmc: true, purpose: 'erase the network-core image' });
      }
    } else {
      plan.push(...buildPlan(target, { ...decision, writeImplementationId: false }, { identityKey: 'skip', implementationId }).filter((w) => w.step === 'networkCore'));
    }
  }
  if (images.application) programEntries(images.application, 'programApp');
  return plan;
}

/** A UICR protection word the image strategy writes with the open value before its reset. */
export interface DebugWordToOpen {
  core: 'application' | 'network';
  address: number;
  name: string;
}

/**
 * The image strategy resets the chip to start the image; the host must still reach both cores
 * afterwards (to follow, halt, erase and verify). A core's debug port stays open over a reset only
 * if its UICR.APPROTECT (and the application core's SECUREAPPROTECT) holds the open value. After an
 * erase-all (recover) these words are erased, which on nRF5340 and nRF91x1 is not the open value, so
 * they are written with it first, as nrfjprog --recover does (TF-M's first boot later writes 0 over
 * them: the second of the two writes a word allows). A word that holds anything else (Protected)
 * cannot be opened: refused before anything is written.
 */
export function debugWordsToOpen(p: Preflight, decision: Decision): DebugWordToOpen[] {
  const target = p.target;
  const open = target.uicr.approtectUnprotected;
  if (open === ERASED_WORD) return []; // nRF9160: erased is open
  const words: DebugWordToOpen[] = [];
  const check = (core: 'application' | 'network', address: number, name: string, value: number | undefined): void => {
    if (value === undefined || value === open) return;
    if (value === ERASED_WORD) {
      words.push({ core, address, name });
      return;
    }
    throw new TfmError(
      'DEBUG_LOCK_AT_RESET',
      `${name} holds ${hex32(value)}, not the open value ${hex32(open)}: the reset that starts the provisioning image would lock the debug port, ` +
        'and the host could no longer follow, remove or verify the image. Nothing was written to non-volatile memory. Use the host strategy, or recover the device first (an erase-all, which also erases lifecycle and keys).',
      { details: { core, address: hex32(address), value: hex32(value) } },
    );
  };
  check('application', target.uicr.approtect, 'UICR.APPROTECT', p.protection.approtect);
  check('application', target.uicr.secureApprotect, 'UICR.SECUREAPPROTECT', p.protection.secureApprotect);
  if (target.network && decision.writeNetworkCore && p.networkCore?.accessible) {
    check('network', target.network.approtect, "the network core's UICR.APPROTECT", p.networkCore.approtect);
  }
  return words;
}

/** Writes the open value into the words debugWordsToOpen found (the core halted, before the reset). */
async function openDebugWords(probe: ProbeSession, target: Target, words: DebugWordToOpen[]): Promise<void> {
  for (const word of words) {
    if (word.core === 'network') {
      await releaseNetworkCore(probe, target);
      await probe.selectCore('network');
    }
    try {
      await probe.writeU32(word.address, target.uicr.approtectUnprotected, { nvmc: true });
      const value = await probe.readU32(word.address);
      if (value !== target.uicr.approtectUnprotected) {
        throw new TfmError('VERIFY_FAILED', `${word.name} reads ${hex32(value)} after writing the open value ${hex32(target.uicr.approtectUnprotected)}.`, { afterWrite: true });
      }
    } finally {
      if (word.core === 'network') await probe.selectCore('application');
    }
  }
}

/** Picks and opens the console; RTT attaches lazily, so it never fails here. */
async function openConsole(probe: ProbeSession, target: Target, core: 'application' | 'network', options: ImageStrategyOptions): Promise<ImageConsole | undefined> {
  const choice = options.console ?? 'rtt';
  if (choice === 'none') return undefined;
  if (choice === 'rtt') {
    const spec = core === 'network' ? target.network : target.application;
    if (!spec?.ram) return undefined;
    return new RttConsole(probe, { search: spec.ram, address: core === 'application' ? options.rttAddress : undefined });
  }
  if (core === 'network') return undefined; // the kit's serial port carries the application core's log
  const { serialPort, ...rest } = choice;
  return openSerialConsole({ path: serialPort, ...rest });
}

interface RunSettings {
  clock: RunClock;
  timeoutMs: number;
  pollIntervalMs: number;
  blockSize: number;
}

/** Halts the selected core, erases the image's pages, programs it and verifies the pages. */
async function programAndVerify(probe: ProbeSession, target: Target, image: FirmwareImage, blockSize: number): Promise<{ blocks: ProgramBlock[] }> {
  // The CPU must not run while the debugger drives the NVMC (nRF52 PS; assumed for nRF53/nRF91).
  await probe.halt();
  await eraseImagePages(probe, target, image);
  const blocks = planProgramBlocks(image, blockSize);
  await programImageBlocks(probe, target, image, blocks);
  const mismatch = await findPageMismatch(probe, image);
  if (mismatch) {
    throw new TfmError('VERIFY_FAILED', `The ${imageName(image)} did not read back as programmed: ${describeMismatch(mismatch)}. Check the probe connection and supply voltage.`, {
      details: { image: image.source, ...mismatch },
    });
  }
  return { blocks };
}

/** Erases the image's pages and checks they read erased. */
async function removeImage(probe: ProbeSession, target: Target, image: FirmwareImage): Promise<void> {
  await probe.halt();
  await eraseImagePages(probe, target, image);
  const left = await findNonErasedPage(probe, image);
  if (left) {
    throw new TfmError('VERIFY_FAILED', `The ${imageName(image)} is still in flash after erasing its pages: ${describeMismatch(left)}.`, { afterWrite: true, details: { image: image.source, ...left } });
  }
}

function outcomeError(report: ImageRunReport, image: FirmwareImage, timeoutMs: number, what: string): TfmError | undefined {
  const details = { image: image.source, lines: report.lines, progress: report.progress, elapsedMs: Math.round(report.elapsedMs) };
  if (report.outcome === 'failure') {
    return new TfmError('IMAGE_FAILED', `The ${what} reported a failure: "${report.failureLine}". Nothing more was written by the host; see the details for what the chip holds.`, {
      afterWrite: true,
      details: { ...details, failureLine: report.failureLine },
    });
  }
  if (report.outcome === 'timeout') {
    const seen = report.progress.lifecycle ? ` (lifecycle ${report.progress.lifecycle}${report.progress.implementationIdWritten ? ', implementation ID written' : ''})` : '';
    return new TfmError(
      'IMAGE_TIMEOUT',
      `The ${what} did not finish within ${Math.round(timeoutMs / 1000)} s${seen}${report.lines.length === 0 ? ' and printed nothing that could be read' : ''}. ` +
        'Check that it is a build of the sample for this board, or raise the timeout (--image-timeout).',
      { afterWrite: true, details },
    );
  }
  return undefined;
}

/**
 * Runs the image strategy inside a provisioning run. Returns the plan on a dry run; otherwise runs the
 * whole flow and returns the verification. Throws TfmError (the host run turns it into the result).
 */
export async function runImageStrategy(host: StrategyHost, options: ImageStrategyOptions): Promise<ImageStrategyOutcome> {
  const { probe, preflight: p, decision } = host;
  const target = p.target;
  const settings: RunSettings = {
    clock: options.clock ?? clockForSession(probe),
    timeoutMs: checkTimeout(options.imageTimeoutMs),
    pollIntervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    blockSize: options.blockSize ?? DEFAULT_BLOCK_SIZE,
  };
  if (!(settings.pollIntervalMs > 0)) throw new TfmError('INVALID_PARAMETER', 'pollIntervalMs must be a positive number.');

  const images = await host.step('checkImages', async (control) => {
    const checked = await checkImages(target, options);
    const all = [checked.provisioning, checked.network, checked.application].filter((i): i is FirmwareImage => i !== undefined);
    for (const image of all) {
      if (image.missingMarkers.length > 0) {
        host.warn(
          'IMAGE_NOT_RECOGNISED',
          `${image.source} does not contain the stock sample's log strings (missing: ${image.missingMarkers.map((m) => `"${m}"`).join(', ')}): it may not be the ${imageName(image)}.`,
        );
      }
    }
    control.detail = all.map((i) => `${imageName(i)} ${i.byteCount} bytes in ${i.pages.length} page(s)`).join('; ');
    return checked;
  });

  const debugWords = debugWordsToOpen(p, decision);
  const plan = planImageStrategy(target, decision, images, host.implementationId, settings.blockSize, debugWords);
  host.emit({ type: 'plan', writes: plan });
  if (host.dryRun) return { dryRun: true, plan };
  if (target.network && !decision.writeNetworkCore && images.network) {
    host.warn('NETWORK_CORE_ALREADY_LOCKED', "The network core's APPROTECT is already set; the network-core image is not run.");
  }

  host.checkAbort();
  if (host.beforeIrreversible) {
    await host.beforeIrreversible({
      chip: p.chip,
      deviceId: p.deviceId,
      lifecycle: p.lifecycle.state,
      plan,
      implementationId: Buffer.from(host.implementationId).toString('hex'),
    });
  }
  host.checkAbort();

  // The console is opened before the first write, so that a serial port that cannot be opened is
  // an environment error with the device untouched.
  const appConsole = await openConsole(probe, target, 'application', options);
  /** Images programmed and not yet removed: erased again if the flow stops half way. */
  const inFlash = new Set<FirmwareImage>();
  try {
    return await runFlow(host, options, settings, images, plan, inFlash, debugWords, appConsole);
  } catch (error) {
    await cleanUpAfterFailure(host, target, inFlash, error);
    throw error;
  } finally {
    await appConsole?.close().catch(() => undefined);
  }
}

async function cleanUpAfterFailure(host: StrategyHost, target: Target, inFlash: Set<FirmwareImage>, error: unknown): Promise<void> {
  const { probe } = host;
  const left: string[] = [];
  for (const image of inFlash) {
    try {
      await probe.selectCore(image.core);
      await probe.halt();
      await eraseImagePages(probe, target, image);
    } catch {
      left.push(image.source);
    }
  }
  try {
    await probe.selectCore('application');
  } catch {
    // The probe is gone; the error being reported already says so.
  }
  if (left.length > 0) {
    host.warn(
      'IMAGE_LEFT_IN_FLASH',
      `The ${left.join(', ')} could not be erased after the failure and is still in flash: it runs again at the next reset. Erase its pages (or the device) before using it.`,
    );
    if (error instanceof TfmError && error.details) Object.assign(error.details, { imageLeftInFlash: left });
  }
}

async function runFlow(
  host: StrategyHost,
  options: ImageStrategyOptions,
  settings: RunSettings,
  images: CheckedImages,
  plan: PlannedWrite[],
  inFlash: Set<FirmwareImage>,
  debugWords: DebugWordToOpen[],
  appConsole: ImageConsole | undefined,
): Promise<ImageStrategyOutcome> {
  const { probe, preflight: p, decision } = host;
  const target = p.target;
  const provisioning = images.provisioning;

  await host.step('programImage', async (control) => {
    await probe.selectCore('application');
    // From the first erase on, the device is no longer as it was: the image, once in flash, runs at
    // the next reset or power-up and provisions the chip by itself.
    host.markAfterWrite();
    inFlash.add(provisioning);
    const { blocks } = await programAndVerify(probe, target, provisioning, settings.blockSize);
    control.detail = `${provisioning.pages.length} page(s) erased, ${blocks.length} block(s) programmed and read back`;
  });

  const report = await host.step('runImage', async (control) => {
    await openDebugWords(probe, target, debugWords);
    const outcome = await runApplicationImage(host, options, settings, appConsole);
    control.detail = `${outcome.outcome} after ${Math.round(outcome.elapsedMs)} ms, ${outcome.lines.length} console line(s)`;
    return outcome;
  });
  const failed = outcomeError(report, provisioning, settings.timeoutMs, 'provisioning image');

  await host.step('removeImage', async (control) => {
    await removeImage(probe, target, provisioning);
    inFlash.delete(provisioning);
    control.detail = `${provisioning.pages.length} page(s) erased and read back; UICR untouched`;
  });
  if (failed) {
    // What the chip holds after the failure, so the operator knows whether an erase-all is needed.
    Object.assign(failed.details ?? {}, await presentAfterRun(probe, p, host.implementationId).catch(() => ({})));
    throw failed;
  }

  // The sample says Success! only after its own checks; the chip must agree before anything else is done.
  const after = await presentAfterRun(probe, p, host.implementationId);
  if (after.missing.length > 0) {
    throw new TfmError(
      'IMAGE_FAILED',
      `The provisioning image ${report.outcome === 'success' ? 'reported Success!' : 'stopped'} but the chip lacks: ${after.missing.join(', ')} (lifecycle ${after.lifecycle}).`,
      { afterWrite: true, details: { image: provisioning.source, lines: report.lines, ...after } },
    );
  }

  if (target.network) {
    await host.step('networkCore', async (control) => {
      if (!decision.writeNetworkCore) {
        control.skipped = true;
        control.detail = 'already locked';
        return;
      }
      host.checkAbort();
      host.markNetworkCoreLock();
      if (images.network) {
        inFlash.add(images.network);
        control.detail = await runNetworkImage(host, options, settings, images.network);
        inFlash.delete(images.network);
        return;
      }
      // The image's reset held the network core off again (the image may or may not have released
      // it: SOC_NRF53_CPUNET_ENABLE); release it and halt it before the lock, as preflight does.
      await releaseNetworkCore(probe, target);
      if (!(await lockNetworkCore(probe, target))) {
        throw new TfmError('VERIFY_FAILED', "The network core's UICR.APPROTECT did not read back as 0.", { afterWrite: true });
      }
      control.detail = 'UICR.APPROTECT = 0 by the host: debug access denied after the next reset';
    });
  }

  if (images.application) {
    const app = images.application;
    await host.step('programApp', async (control) => {
      await probe.selectCore('application');
      const { blocks } = await programAndVerify(probe, target, app, settings.blockSize);
      control.detail = `${app.pages.length} page(s) erased, ${blocks.length} block(s) programmed and read back`;
    });
  }

  let identityPublicKey: IdentityPublicKey | undefined;
  if (report.identityPublicKey) {
    try {
      identityPublicKey = describePublicKey(Uint8Array.from(Buffer.from(report.identityPublicKey, 'hex')));
    } catch {
      host.warn('IMAGE_NOT_RECOGNISED', 'The image printed an identity public key that is not a valid P-256 point; it is not reported.');
    }
  }

  const verification = await host.step('verify', async (control) => {
    const result = await verify(
      probe,
      {
        identityKey: 'generate',
        identityKeyCheck: 'perm',
        implementationId: host.implementationId,
        lifecycle: ['PROVISIONING'],
        identityPublicKey: identityPublicKey?.hex,
        bootModel: host.bootModel,
      },
      { identity: { target, chip: p.chip, part: p.part, variant: p.variant, deviceId: p.deviceIdBytes, deviceIdHex: p.deviceId } },
    );
    control.detail = `${result.checks.filter((k) => k.ok).length}/${result.checks.length} checks passed (identity key slots by PERM)${host.bootModel ? ', including the TF-M boot model' : ''}`;
    if (!result.ok) {
      throw result.error
        ? new TfmError(result.error.code, result.error.message, { afterWrite: true, details: result.error.details })
        : new TfmError('VERIFY_FAILED', 'Verification failed.', { afterWrite: true });
    }
    return result;
  });

  if (images.application) {
    await host.step('startApp', async (control) => {
      await probe.selectCore('application');
      await probe.reset('system');
      await probe.go();
      control.detail = 'reset and running';
    });
  }
  if (report.outcome !== 'success') host.emit({ type: 'message', text: SAMPLE_MESSAGES.success });
  return { dryRun: false, plan, verification, identityPublicKey, lifecycleAfter: verification.lifecycle };
}

/** Reads, with the core halted, what the image should have written (shared preflight reads). */
async function presentAfterRun(probe: ProbeSession, p: Preflight, implementationId: Uint8Array): Promise<{ lifecycle: string; present: ComponentName[]; missing: ComponentName[] }> {
  const target = p.target;
  const slotIndices = [...target.huk.mkek, ...target.huk.mext, ...target.identityKey.slots].map((s) => s.index);
  const state = await readDeviceState(probe, target, { slotIndices, networkCore: false });
  const components = assessComponents(target, state, compareImplementationId(state.implementationIdBytes, implementationId), 'generate');
  const wanted: ComponentName[] = ['lifecycle', 'mkek', 'mext', 'identityKey', 'implementationId'];
  return {
    lifecycle: state.lifecycle.state,
    present: wanted.filter((c) => components[c] === 'present'),
    missing: wanted.filter((c) => components[c] !== 'present'),
  };
}

const SAMPLE_LINES = new Set<string>(Object.values(SAMPLE_MESSAGES));

/** Resets, starts the provisioning image, follows it, and halts the core whatever happened. */
async function runApplicationImage(host: StrategyHost, options: ImageStrategyOptions, settings: RunSettings, imageConsole: ImageConsole | undefined): Promise<ImageRunReport> {
  const { probe, preflight: p } = host;
  const target = p.target;
  const ram = target.application.ram;
  let consoleReported = false;
  try {
    await probe.selectCore('application');
    // A debugger reset halts the core before its first instruction.
    await probe.reset('system');
    if (imageConsole instanceof RttConsole && ram && options.rttAddress === undefined) {
      // RAM survives a reset on silicon: an RTT block left by the previous firmware must not be
      // mistaken for the image's (which it sets up when it starts).
      await scrubRttControlBlocks(probe, ram);
    }
    if (imageConsole && imageConsole.kind === 'serial') {
      // Whatever the port received before the reset came from other firmware, not from the image.
      await imageConsole.poll();
      consoleReported = true;
      host.emit({ type: 'imageConsole', core: 'application', source: 'serial', description: imageConsole.description });
    }
    await probe.go();
    const report = await watchImageRun({
      clock: settings.clock,
      console: imageConsole,
      consoleAttached: () => (imageConsole instanceof RttConsole ? imageConsole.attached : true),
      timeoutMs: settings.timeoutMs,
      pollIntervalMs: settings.pollIntervalMs,
      successGraceMs: DEFAULT_SUCCESS_GRACE_MS,
      readProgress: async (): Promise<ChipProgress> => {
        const uicr = await readApplicationUicr(probe, target);
        // Every word written (with this or another ID): the sample's last write is done.
        const idState = compareImplementationId(uicr.implementationId, host.implementationId);
        const idWritten = idState === 'equal' || idState === 'different';
        if (!consoleReported && imageConsole instanceof RttConsole && imageConsole.attached) {
          consoleReported = true;
          host.emit({ type: 'imageConsole', core: 'application', source: 'rtt', description: imageConsole.description });
        }
        return { lifecycle: uicr.lifecycle.state, implementationIdWritten: idWritten, complete: uicr.lifecycle.state === 'PROVISIONING' && idWritten };
      },
      onLine: (message) => {
        if (SAMPLE_LINES.has(message)) host.emit({ type: 'message', text: message as SampleMessage });
        else host.emit({ type: 'console', core: 'application', text: message });
      },
      onProgress: (progress) =>
        host.emit({ type: 'imageProgress', core: 'application', lifecycle: progress.lifecycle, implementationIdWritten: progress.implementationIdWritten, complete: progress.complete }),
    });
    if (imageConsole instanceof RttConsole && !imageConsole.attached) {
      host.warn('IMAGE_CONSOLE_NOT_FOUND', 'No RTT control block was found in RAM: the image was followed by polling the chip only (name the kit\'s serial port with --console-port to see its log).');
    }
    return report;
  } finally {
    // Whatever happened, the core stops before the host touches flash again.
    try {
      await probe.halt();
    } catch {
      // A lost probe is reported by the error already propagating.
    }
  }
}

/** nRF5340: programs, runs and removes the network-core image; returns a step detail. */
async function runNetworkImage(host: StrategyHost, options: ImageStrategyOptions, settings: RunSettings, image: FirmwareImage): Promise<string> {
  const { probe, preflight: p } = host;
  const target = p.target;
  const net = target.network!;
  await releaseNetworkCore(probe, target);
  await probe.selectCore('network');
  let report: ImageRunReport;
  try {
    await programAndVerify(probe, target, image, settings.blockSize);
    const netConsole = await openConsole(probe, target, 'network', options);
    try {
      await probe.reset('debug');
      if (netConsole instanceof RttConsole && net.ram) await scrubRttControlBlocks(probe, net.ram);
      await probe.go();
      report = await watchImageRun({
        clock: settings.clock,
        console: netConsole,
        consoleAttached: () => (netConsole instanceof RttConsole ? netConsole.attached : false),
        timeoutMs: settings.timeoutMs,
        pollIntervalMs: settings.pollIntervalMs,
        successGraceMs: DEFAULT_SUCCESS_GRACE_MS,
        readProgress: async () => {
          const approtect = await probe.readU32(net.approtect);
          return { networkApprotect: approtect, complete: approtect === target.uicr.approtectProtected };
        },
        onLine: (message) => host.emit({ type: 'console', core: 'network', text: message }),
        onProgress: (progress) => host.emit({ type: 'imageProgress', core: 'network', networkApprotect: progress.networkApprotect, complete: progress.complete }),
      });
    } finally {
      try {
        await probe.halt();
      } catch {
        // reported by the propagating error
      }
      await netConsole?.close().catch(() => undefined);
    }
    // The network core's access port stays open until its next reset, so its pages can still be erased.
    await removeImage(probe, target, image);
  } finally {
    await probe.selectCore('application').catch(() => undefined);
  }
  const failed = outcomeError(report, image, settings.timeoutMs, 'network-core image');
  if (failed) throw failed;
  if (!report.progress.complete) {
    throw new TfmError('IMAGE_FAILED', `The network-core image ended but UICR.APPROTECT reads ${hex32(report.progress.networkApprotect ?? 0xffffffff)}, not 0.`, {
      afterWrite: true,
      details: { image: image.source, lines: report.lines },
    });
  }
  return `network-core image ran (${report.outcome}, ${Math.round(report.elapsedMs)} ms) and was erased: UICR.APPROTECT = 0`;
}
