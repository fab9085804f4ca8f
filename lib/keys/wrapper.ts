/**
 * How the identity private key becomes the 32 bytes stored in KMU slots 6 and 7. The CryptoCell
 * format on silicon is undocumented (device-facts section 4), so this is an interface: the built-in
 * implementation is the wrapping model (simulator truth), and a user can supply the real format.
 */
import type { ChipName } from '../targets';
import { unwrapIdentityKeyModel, wrapIdentityKeyModel, WRAPPING_MODEL_LABEL } from './wrapping-model';

export interface IdentityKeyWrapInput {
  chip: ChipName;
  /** The MKEK as written to the KMU (32 bytes on nRF5340, 16 on nRF91). Do not keep it. */
  mkek: Uint8Array;
  /** FICR DEVICEID[0..1], 8 bytes. */
  deviceId: Uint8Array;
  /** The identity private scalar, 32 bytes big-endian. Do not keep it. */
  privateKey: Uint8Array;
}

export interface IdentityKeyWrapper {
  /** Shown in plans and reports, e.g. "model-v1". */
  readonly name: string;
  /**
   * Set it to true when your format is not known to be what TF-M on silicon decrypts: such a
   * wrapper is refused on a real probe unless the caller sets allowModelWrapper. The built-in model
   * is recognised by identity (isModelWrapper), so setting this to false changes nothing for it.
   */
  readonly model?: boolean;
  /** Returns the 32 bytes for slots 6 (first 16) and 7 (last 16). The caller zeroes the result. */
  wrap(input: IdentityKeyWrapInput): Uint8Array | Promise<Uint8Array>;
}

const wrapWithModel = ({ mkek, deviceId, privateKey }: IdentityKeyWrapInput): Uint8Array => wrapIdentityKeyModel(mkek, deviceId, privateKey);

export const modelIdentityKeyWrapper: IdentityKeyWrapper = Object.freeze({
  name: 'model-v1',
  model: true,
  wrap: wrapWithModel,
});

/** The built-in model wrapper, known by identity: a copy with `model: false` is still the model. */
const builtInModels = new WeakSet<object>([modelIdentityKeyWrapper]);

/**
 * Whether a wrapper writes the wrapping model rather than a format TF-M on silicon is known to
 * decrypt: the built-in wrapper itself, any object whose wrap is the built-in's function (a spread
 * copy), or a wrapper that declares `model: true`. Not decided by a flag the caller could clear.
 */
export function isModelWrapper(wrapper: IdentityKeyWrapper): boolean {
  return builtInModels.has(wrapper) || wrapper.wrap === wrapWithModel || wrapper.model === true;
}

export { wrapIdentityKeyModel, unwrapIdentityKeyModel, WRAPPING_MODEL_LABEL };

export function isIdentityKeyWrapper(value: unknown): value is IdentityKeyWrapper {
  return typeof value === 'object' && value !== null && typeof (value as IdentityKeyWrapper).wrap === 'function' && typeof (value as IdentityKeyWrapper).name === 'string';
}
