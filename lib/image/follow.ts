/**
 * Starting an image on its core and following it to its end (console lines and chip polling), with
 * the core halted again whatever happened. Mechanics only: what the lines and progress mean for a
 * provisioning run is decided by the caller through the hooks.
 */
import { TfmError } from '../errors';
import type { ProbeSession } from '../probe/types';
import type { Target } from '../targets';
import { hex32 } from '../bytes';
import { compareImplementationId, readApplicationUicr } from '../device/uicr';
import { releaseNetworkCore } from '../device/network-core';
import type { ImageConsole } from './console';
import { programAndVerify, removeImage } from './flash';
import type { ImageStrategyOptions, RunSettings } from './inputs';
import type { FirmwareImage } from './intel-hex';
import { RttConsole, scrubRttControlBlocks } from './rtt';
import { DEFAULT_SUCCESS_GRACE_MS, outcomeError, watchImageRun, type ChipProgress, type ImageRunReport } from './run';
import { openSerialConsole } from './serial-console';

/** What the caller hears while an image runs. */
export interface FollowHooks {
  /** A console message (log decoration removed). */
  onLine(message: string): void;
  /** The console was found (the serial port at once; RTT once its control block is located). */
  onConsoleFound(source: 'rtt' | 'serial', description: string): void;
  /** What polling the chip shows, on each change. */
  onProgress(progress: ChipProgress): void;
}

export interface FollowedRun extends ImageRunReport {
  /** An RTT console was asked for and no control block was ever found. */
  consoleMissing: boolean;
}

/** Picks and opens the console; RTT attaches lazily, so it never fails here. */
export async function openConsole(probe: ProbeSession, target: Target, core: 'application' | 'network', options: ImageStrategyOptions): Promise<ImageConsole | undefined> {
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

/** Resets, starts the provisioning image, follows it, and halts the core whatever happened. */
export async function followApplicationImage(
  probe: ProbeSession,
  target: Target,
  implementationId: Uint8Array,
  options: Pick<ImageStrategyOptions, 'rttAddress'>,
  settings: RunSettings,
  imageConsole: ImageConsole | undefined,
  hooks: FollowHooks,
): Promise<FollowedRun> {
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
      hooks.onConsoleFound('serial', imageConsole.description);
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
        const idState = compareImplementationId(uicr.implementationId, implementationId);
        const idWritten = idState === 'equal' || idState === 'different';
        if (!consoleReported && imageConsole instanceof RttConsole && imageConsole.attached) {
          consoleReported = true;
          hooks.onConsoleFound('rtt', imageConsole.description);
        }
        return { lifecycle: uicr.lifecycle.state, implementationIdWritten: idWritten, complete: uicr.lifecycle.state === 'PROVISIONING' && idWritten };
      },
      onLine: (message) => hooks.onLine(message),
      onProgress: (progress) => hooks.onProgress(progress),
    });
    return { ...report, consoleMissing: imageConsole instanceof RttConsole && !imageConsole.attached };
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
export async function runNetworkImage(
  probe: ProbeSession,
  target: Target,
  options: Pick<ImageStrategyOptions, 'console' | 'rttAddress'>,
  settings: RunSettings,
  image: FirmwareImage,
  hooks: Pick<FollowHooks, 'onLine' | 'onProgress'>,
): Promise<string> {
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
        onLine: (message) => hooks.onLine(message),
        onProgress: (progress) => hooks.onProgress(progress),
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
