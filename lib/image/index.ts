/** image/: the mechanics of running the stock provisioning image (Intel HEX, flash, RTT, console, following a run); the strategy itself is lib/provision/strategies/image.ts. */
export { parseImage, loadImage, checkImageFile, MAX_IMAGE_FILE_BYTES, type FirmwareImage, type ImageRole, type ImageCore, type ImageSegment } from './intel-hex';
export { PROVISIONING_IMAGE_MARKERS, NETWORK_IMAGE_MARKERS } from '../targets/provisioning-sample';
export { checkImages, type ImageStrategyOptions, type ImageInput, type ImageConsoleOption, type CheckedImages } from './inputs';
export { wallClock, DEFAULT_IMAGE_TIMEOUT_MS, type RunClock, type VirtualClockSession } from './run';
export type { ImageConsole } from './console';
