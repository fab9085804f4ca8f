/**
 * The image strategy: the stock NCS provisioning image does the provisioning on the chip (so the
 * identity key is encrypted by the chip's own CryptoCell library and never exists off-chip), and the
 * host drives it over the probe. The run around it (run.ts) is the host strategy's: preflight,
 * decision, events, abort, beforeIrreversible, verify and result. This strategy supplies the middle:
 *
 *   checkImages   parse and range-check every image (nothing touched yet)            plan()
 *   programImage  halt, blank-check the image's pages, erase the used ones, program,  execute()
 *                 verify by read-back
 *   runImage      reset, go; follow the console and the chip until Success!/Failure/timeout; halt
 *   removeImage   erase the image's pages again (never UICR: that would erase the keys)
 *   networkCore   nRF5340: lock the network core by the host's own write, or by running --net-image
 *   programApp    optional application image, pages only
 *   (verify)      the run's verify, identity slots checked by PERM (contents are encrypted by the chip)
 *   startApp      with an application image: reset and let it run                   afterVerify()
 *
 * The mechanics (Intel HEX, flash, RTT, console, following a run) are lib/image's.
 */
import { TfmError } from '../../errors';
import type { ProbeSession } from '../../probe/types';
import type { Target } from '../../targets';
import { SAMPLE_MESSAGES, type SampleMessage } from '../../targets/provisioning-sample';
import { compareImplementationId } from '../../device/uicr';
import { releaseNetworkCore } from '../../device/network-core';
import { describePublicKey, type IdentityPublicKey } from '../../keys/identity';
import { eraseImagePages, programAndVerify, removeImage } from '../../image/flash';
import { followApplicationImage, openConsole, runNetworkImage } from '../../image/follow';
import { checkImages, runSettings, type CheckedImages, type RunSettings } from '../../image/inputs';
import { imageName, type FirmwareImage } from '../../image/intel-hex';
import { outcomeError } from '../../image/run';
import type { ImageConsole } from '../../image/console';
import { assessComponents, readDeviceState, type Preflight } from '../preflight';
import type { Expectation, OptionsContext, ProvisioningStrategy, RunContext, StrategyPlan } from '../strategy';
import type { ComponentName } from '../types';
import { lockNetworkCoreByHost, networkCoreStep } from './steps';
import { debugWordsToOpen, openDebugWords, planImageStrategy, type DebugWordToOpen } from './image-plan';

const SAMPLE_LINES = new Set<string>(Object.values(SAMPLE_MESSAGES));

interface Planned {
  settings: RunSettings;
  images: CheckedImages;
  debugWords: DebugWordToOpen[];
}

export class ImageStrategy implements ProvisioningStrategy {
  readonly name = 'image' as const;
  private planned?: Planned;

  checkOptions(context: OptionsContext): void {
    // The image makes its own keys on the chip: no host randomness, no wrapper, nothing to skip.
    if (context.identityKey !== 'generate') {
      throw new TfmError('INVALID_PARAMETER', "The image strategy always writes the identity key (the image does); identityKey: 'skip' applies to the host strategy only.");
    }
  }

  async plan(context: RunContext): Promise<StrategyPlan> {
    const { probe, preflight: p, decision, options } = context;
    const target = p.target;
    const settings = runSettings(probe, options);
    const images = await context.step('checkImages', async (control) => {
      const checked = await checkImages(target, options);
      const all = [checked.provisioning, checked.network, checked.application].filter((i): i is FirmwareImage => i !== undefined);
      for (const image of all) {
        if (image.missingMarkers.length > 0) {
          context.warn(
            'IMAGE_NOT_RECOGNISED',
            `${image.source} does not contain the stock sample's log strings (missing: ${image.missingMarkers.map((m) => `"${m}"`).join(', ')}): it may not be the ${imageName(image)}.`,
          );
        }
      }
      control.detail = all.map((i) => `${imageName(i)} ${i.byteCount} bytes in ${i.pages.length} page(s)`).join('; ');
      return checked;
    });
    const debugWords = debugWordsToOpen(p, decision);
    this.planned = { settings, images, debugWords };
    const writeNotes: StrategyPlan['writeNotes'] = [];
    if (target.network && !decision.writeNetworkCore && images.network) {
      writeNotes.push({ code: 'NETWORK_CORE_ALREADY_LOCKED', message: "The network core's APPROTECT is already set; the network-core image is not run." });
    }
    return { writes: planImageStrategy(target, decision, images, context.implementationId, settings.blockSize, debugWords), writeNotes };
  }

  async execute(context: RunContext): Promise<Expectation> {
    const planned = this.planned!;
    // The console is opened before the first write, so that a serial port that cannot be opened is
    // an environment error with the device untouched.
    const appConsole = await openConsole(context.probe, context.preflight.target, 'application', context.options);
    /** Images programmed and not yet removed: erased again if the flow stops half way. */
    const inFlash = new Set<FirmwareImage>();
    try {
      return await this.flow(context, planned, inFlash, appConsole);
    } catch (error) {
      await cleanUpAfterFailure(context, inFlash, error);
      throw error;
    } finally {
      await appConsole?.close().catch(() => undefined);
    }
  }

  private async flow(context: RunContext, planned: Planned, inFlash: Set<FirmwareImage>, appConsole: ImageConsole | undefined): Promise<Expectation> {
    const { probe, preflight: p, options } = context;
    const { settings, images } = planned;
    const target = p.target;
    const provisioning = images.provisioning;

    await context.step('programImage', async (control) => {
      await probe.selectCore('application');
      // From the first erase on, the device is no longer as it was: the image, once in flash, runs at
      // the next reset or power-up and provisions the chip by itself.
      context.markAfterWrite();
      inFlash.add(provisioning);
      const { blocks, erasedPages } = await programAndVerify(probe, target, provisioning, settings.blockSize);
      control.detail = `${provisioning.pages.length} page(s) blank-checked, ${erasedPages.length} erased, ${blocks.length} block(s) programmed and read back`;
    });

    const report = await context.step('runImage', async (control) => {
      await openDebugWords(probe, target, planned.debugWords);
      const outcome = await followApplicationImage(probe, target, context.implementationId, options, settings, appConsole, {
        onLine: (message) => {
          if (SAMPLE_LINES.has(message)) context.emit({ type: 'message', text: message as SampleMessage });
          else context.emit({ type: 'console', core: 'application', text: message });
        },
        onConsoleFound: (source, description) => context.emit({ type: 'imageConsole', core: 'application', source, description }),
        onProgress: (progress) =>
          context.emit({ type: 'imageProgress', core: 'application', lifecycle: progress.lifecycle, implementationIdWritten: progress.implementationIdWritten, complete: progress.complete }),
      });
      if (outcome.consoleMissing) {
        context.warn('IMAGE_CONSOLE_NOT_FOUND', "No RTT control block was found in RAM: the image was followed by polling the chip only (name the kit's serial port with --console-port to see its log).");
      }
      control.detail = `${outcome.outcome} after ${Math.round(outcome.elapsedMs)} ms, ${outcome.lines.length} console line(s)`;
      return outcome;
    });
    const failed = outcomeError(report, provisioning, settings.timeoutMs, 'provisioning image');

    await context.step('removeImage', async (control) => {
      await removeImage(probe, target, provisioning);
      inFlash.delete(provisioning);
      control.detail = `${provisioning.pages.length} page(s) erased and read back; UICR untouched`;
    });
    if (failed) {
      // What the chip holds after the failure, so the operator knows whether an erase-all is needed.
      Object.assign(failed.details ?? {}, await presentAfterRun(probe, p, context.implementationId).catch(() => ({})));
      throw failed;
    }

    // The sample says Success! only after its own checks; the chip must agree before anything else is done.
    const after = await presentAfterRun(probe, p, context.implementationId);
    if (after.missing.length > 0) {
      throw new TfmError(
        'IMAGE_FAILED',
        `The provisioning image ${report.outcome === 'success' ? 'reported Success!' : 'stopped'} but the chip lacks: ${after.missing.join(', ')} (lifecycle ${after.lifecycle}).`,
        { afterWrite: true, details: { image: provisioning.source, lines: report.lines, ...after } },
      );
    }

    if (target.network) await this.lockNetworkCore(context, planned, inFlash);

    if (images.application) {
      const app = images.application;
      await context.step('programApp', async (control) => {
        await probe.selectCore('application');
        const { blocks, erasedPages } = await programAndVerify(probe, target, app, settings.blockSize);
        control.detail = `${app.pages.length} page(s) blank-checked, ${erasedPages.length} erased, ${blocks.length} block(s) programmed and read back`;
      });
    }

    let identityPublicKey: IdentityPublicKey | undefined;
    if (report.identityPublicKey) {
      try {
        identityPublicKey = describePublicKey(Uint8Array.from(Buffer.from(report.identityPublicKey, 'hex')));
      } catch {
        context.warn('IMAGE_NOT_RECOGNISED', 'The image printed an identity public key that is not a valid P-256 point; it is not reported.');
      }
    }

    return {
      verify: { identityKeyCheck: 'perm', identityPublicKey: identityPublicKey?.hex },
      describe: ({ bootModel }) => ` (identity key slots by PERM)${bootModel ? ', including the TF-M boot model' : ''}`,
      identityPublicKey,
      successReported: report.outcome === 'success',
      afterVerify: images.application
        ? async () => {
            await context.step('startApp', async (control) => {
              await probe.selectCore('application');
              await probe.reset('system');
              await probe.go();
              control.detail = 'reset and running';
            });
          }
        : undefined,
    };
  }

  /** nRF5340: the network core's lock, by the network-core image when one is given, else by the host. */
  private async lockNetworkCore(context: RunContext, planned: Planned, inFlash: Set<FirmwareImage>): Promise<void> {
    const { probe, preflight: p, options } = context;
    const target = p.target;
    const network = planned.images.network;
    await networkCoreStep(context, async (control) => {
      if (network) {
        inFlash.add(network);
        control.detail = await runNetworkImage(probe, target, options, planned.settings, network, {
          onLine: (message) => context.emit({ type: 'console', core: 'network', text: message }),
          onProgress: (progress) => context.emit({ type: 'imageProgress', core: 'network', networkApprotect: progress.networkApprotect, complete: progress.complete }),
        });
        inFlash.delete(network);
        return;
      }
      // The image's reset held the network core off again (the image may or may not have released
      // it: SOC_NRF53_CPUNET_ENABLE); release it and halt it before the lock, as preflight does.
      await releaseNetworkCore(probe, target);
      await lockNetworkCoreByHost(context);
      control.detail = 'UICR.APPROTECT = 0 by the host: debug access denied after the next reset';
    });
  }
}

/** Erases whatever image is still in flash after a failure; says so when it cannot. */
async function cleanUpAfterFailure(context: RunContext, inFlash: Set<FirmwareImage>, error: unknown): Promise<void> {
  const { probe } = context;
  const target: Target = context.preflight.target;
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
    context.warn(
      'IMAGE_LEFT_IN_FLASH',
      `The ${left.join(', ')} could not be erased after the failure and is still in flash: it runs again at the next reset. Erase its pages (or the device) before using it.`,
    );
    if (error instanceof TfmError && error.details) Object.assign(error.details, { imageLeftInFlash: left });
  }
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
