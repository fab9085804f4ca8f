/**
 * The image strategy's inputs: where the images and the console come from, the run settings, and
 * the parse-and-range-check of every image before anything touches the probe. Mechanics only: the
 * provisioning run (lib/provision/strategies/image.ts) decides what to do with them.
 */
import { TfmError } from '../errors';
import type { Target } from '../targets';
import { loadImage, parseImage, type FirmwareImage, type ImageRole } from './intel-hex';
import { DEFAULT_BLOCK_SIZE } from './flash';
import { DEFAULT_POLL_INTERVAL_MS, checkTimeout, clockForSession, type RunClock } from './run';
import type { SerialConsoleOptions } from './serial-console';

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



/** The run settings of one image run, from the options (defaults filled in, values checked). */
export interface RunSettings {
  clock: RunClock;
  timeoutMs: number;
  pollIntervalMs: number;
  blockSize: number;
}

export function runSettings(session: object, options: ImageStrategyOptions): RunSettings {
  const settings: RunSettings = {
    clock: options.clock ?? clockForSession(session),
    timeoutMs: checkTimeout(options.imageTimeoutMs),
    pollIntervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    blockSize: options.blockSize ?? DEFAULT_BLOCK_SIZE,
  };
  if (!(settings.pollIntervalMs > 0)) throw new TfmError('INVALID_PARAMETER', 'pollIntervalMs must be a positive number.');
  return settings;
}
