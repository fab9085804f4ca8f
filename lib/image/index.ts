/** image/: the image strategy (the stock provisioning image run on the chip, driven over the probe). */
export { parseImage, loadImage, type FirmwareImage, type ImageRole, type ImageCore, type ImageSegment } from './intel-hex';
export { PROVISIONING_IMAGE_MARKERS, NETWORK_IMAGE_MARKERS } from '../targets/provisioning-sample';
export { checkImages, type ImageStrategyOptions, type ImageInput, type ImageConsoleOption, type CheckedImages } from './strategy';
export { wallClock, DEFAULT_IMAGE_TIMEOUT_MS, type RunClock, type VirtualClockSession } from './run';
export type { ImageConsole } from './console';
