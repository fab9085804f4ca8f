/**
 * The image strategy's command-line options, for `tfm-provision provision` (and any command that
 * provisions): added to a commander command, and turned into ProvisionOptions fields.
 *
 *   --strategy image --image provisioning.hex [--net-image net.hex] [--app tfm_app.hex]
 *   [--console-port /dev/ttyACM0 [--console-baud 115200] | --no-rtt] [--image-timeout 60]
 */
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { TfmError } from '../errors';
import type { ProvisionStrategy } from '../provision/types';
import { DEFAULT_IMAGE_TIMEOUT_MS } from '../image/run';
import type { ImageStrategyOptions } from '../image/inputs';

export interface ImageCliOptions {
  strategy?: string;
  image?: string;
  netImage?: string;
  app?: string;
  consolePort?: string;
  consoleBaud?: string;
  /** commander's --no-rtt sets rtt = false. */
  rtt?: boolean;
  rttAddress?: string;
  imageTimeout?: string;
}

export function addImageStrategyOptions(command: Command): Command {
  return command
    .option('--strategy <host|image>', "host: the host writes the keys; image: the stock provisioning image does it on the chip (keys never leave it)", 'host')
    .option('--image <file>', 'image strategy: the provisioning image (Intel HEX build of samples/tfm/provisioning_image)')
    .option('--net-image <file>', 'image strategy, nRF5340: the network-core image (provisioning_image_net_core); default: the host locks the network core')
    .option('--app <file>', 'image strategy: application image programmed after provisioning and started after verification')
    .option('--console-port <path>', "image strategy: read the image's log from this serial port (the kit's VCOM) instead of RTT")
    .option('--console-baud <rate>', 'image strategy: baud rate of --console-port', '115200')
    .option('--no-rtt', "image strategy: do not look for the image's RTT console; follow the chip only")
    .option('--rtt-address <hex>', "image strategy: the RTT control block's address (from the image's map file) instead of a RAM search")
    .option('--image-timeout <seconds>', 'image strategy: give up on the image after this long', String(DEFAULT_IMAGE_TIMEOUT_MS / 1000));
}

function positiveNumber(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new TfmError('USAGE', `${option} must be a positive number (got "${text}").`);
  return value;
}

/**
 * An image file that can be read, checked before the probe is opened: a typo in a file name must
 * not cost a whole preflight (its contents are parsed and range-checked once the chip is known).
 */
function readableImage(file: string, role: string): string {
  let reason: string | undefined;
  try {
    if (!statSync(file).isFile()) reason = 'it is not a regular file';
    else accessSync(file, fsConstants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
  }
  if (reason !== undefined) throw new TfmError('IMAGE_INVALID', `Cannot read the ${role} image ${file}: ${reason}. Nothing was done to the device.`, { details: { path: file } });
  return file;
}

/** The ProvisionOptions fields for the parsed options. Refuses image options without --strategy image. */
export function imageStrategyOptionsFrom(options: ImageCliOptions, cwd: string): ImageStrategyOptions & { strategy: ProvisionStrategy } {
  const strategy = options.strategy ?? 'host';
  if (strategy !== 'host' && strategy !== 'image') throw new TfmError('USAGE', `--strategy must be "host" or "image" (got "${strategy}").`);
  const imageOnly: Array<[keyof ImageCliOptions, string]> = [
    ['image', '--image'],
    ['netImage', '--net-image'],
    ['app', '--app'],
    ['consolePort', '--console-port'],
    ['rttAddress', '--rtt-address'],
  ];
  if (strategy === 'host') {
    const given = imageOnly.filter(([key]) => options[key] !== undefined).map(([, flag]) => flag);
    if (options.rtt === false) given.push('--no-rtt');
    if (given.length > 0) throw new TfmError('USAGE', `${given.join(', ')} apply to --strategy image only.`);
    return { strategy };
  }
  if (options.image === undefined) throw new TfmError('USAGE', '--strategy image needs --image <provisioning image .hex>.');
  if (options.consolePort !== undefined && options.rtt === false) throw new TfmError('USAGE', 'Give either --console-port or --no-rtt, not both.');
  const file = (p: string | undefined, role: string): string | undefined => (p === undefined ? undefined : readableImage(path.resolve(cwd, p), role));
  const result: ImageStrategyOptions & { strategy: ProvisionStrategy } = {
    strategy,
    image: file(options.image, 'provisioning'),
    netImage: file(options.netImage, 'network'),
    app: file(options.app, 'application'),
    imageTimeoutMs: positiveNumber(options.imageTimeout ?? String(DEFAULT_IMAGE_TIMEOUT_MS / 1000), '--image-timeout') * 1000,
  };
  if (options.consolePort !== undefined) {
    result.console = { serialPort: options.consolePort, baudRate: positiveNumber(options.consoleBaud ?? '115200', '--console-baud') };
  } else if (options.rtt === false) {
    result.console = 'none';
  }
  if (options.rttAddress !== undefined) {
    const address = Number.parseInt(options.rttAddress.replace(/^0x/iu, ''), 16);
    if (!/^(0x)?[0-9a-f]{1,8}$/iu.test(options.rttAddress) || !Number.isFinite(address)) throw new TfmError('USAGE', `--rtt-address must be a hexadecimal address (got "${options.rttAddress}").`);
    result.rttAddress = address;
  }
  for (const key of ['netImage', 'app'] as const) if (result[key] === undefined) delete result[key];
  return result;
}
