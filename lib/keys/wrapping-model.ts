/**
 * The identity-key wrapping model v1 (shared reference identity-key-model.md).
 *
 * On silicon the CryptoCell platform library encrypts the identity key with "a key derived from the
 * MKEK" in an undocumented, binary-only format. This model is exact and testable, and it is what the
 * simulator's CryptoCell understands; it is NOT claimed to be what silicon decrypts, which is why
 * provisioning refuses it on real probes without an explicit opt-in.
 *
 *   K(i) = AES-CMAC(MKEK, [i]_1 || "tfm-provision identity key model v1" || 0x00 || deviceId || 0x01 0x00)
 *   KEK  = K(1) || K(2)                 (NIST SP 800-108 counter mode, L = 256 bits)
 *   blob = AES-256-ECB(KEK, d)          (two blocks, no padding; fits KMU slots 6 and 7)
 */
import { aesCmac, aesEcbDecrypt, aesEcbEncrypt } from '../crypto';
import { TfmError } from '../errors';

export const WRAPPING_MODEL_LABEL = 'tfm-provision identity key model v1';
export const WRAPPING_MODEL_VERSION = 1;
/** Length of the private scalar, of the blob and of the derived KEK. */
export const IDENTITY_KEY_BYTES = 32;
const DEVICE_ID_BYTES = 8;

function check(name: string, value: Uint8Array, lengths: number[]): void {
  if (!(value instanceof Uint8Array) || !lengths.includes(value.length)) {
    // Lengths only: the value itself may be key material.
    throw new TfmError('INVALID_PARAMETER', `${name} must be ${lengths.join(' or ')} bytes (got ${value?.length ?? 'none'}).`);
  }
}

/** KEK = K(1) || K(2). Exported for the test vectors; callers must zero the result. */
export function deriveModelKek(mkek: Uint8Array, deviceId: Uint8Array): Uint8Array {
  check('MKEK', mkek, [16, 32]);
  check('deviceId', deviceId, [DEVICE_ID_BYTES]);
  const label = Buffer.from(WRAPPING_MODEL_LABEL, 'ascii');
  // [i]_1 || Label || 0x00 || Context || [L]_2
  const input = new Uint8Array(1 + label.length + 1 + DEVICE_ID_BYTES + 2);
  input.set(label, 1);
  input[1 + label.length] = 0x00;
  input.set(deviceId, 2 + label.length);
  input[input.length - 2] = 0x01; // L = 256 = 0x0100, big-endian
  input[input.length - 1] = 0x00;
  const kek = new Uint8Array(IDENTITY_KEY_BYTES);
  for (let i = 1; i <= 2; i++) {
    input[0] = i;
    const block = aesCmac(mkek, input);
    kek.set(block, 16 * (i - 1));
    block.fill(0);
  }
  input.fill(0);
  return kek;
}

/** AES-256-ECB under the model KEK for this device; the KEK is zeroed however `use` ends. */
function withModelKek(mkek: Uint8Array, deviceId: Uint8Array, use: (kek: Uint8Array) => Uint8Array): Uint8Array {
  const kek = deriveModelKek(mkek, deviceId);
  try {
    return use(kek);
  } finally {
    kek.fill(0);
  }
}

/** Wraps the 32-byte identity private scalar `d` for KMU slots 6 and 7 (blob[0..15] -> slot 6). */
export function wrapIdentityKeyModel(mkek: Uint8Array, deviceId: Uint8Array, d: Uint8Array): Uint8Array {
  check('identity key', d, [IDENTITY_KEY_BYTES]);
  return withModelKek(mkek, deviceId, (kek) => aesEcbEncrypt(kek, d));
}

/** Inverse of wrapIdentityKeyModel: the simulated CryptoCell's view of slots 6 and 7. */
export function unwrapIdentityKeyModel(mkek: Uint8Array, deviceId: Uint8Array, blob: Uint8Array): Uint8Array {
  check('identity key blob', blob, [IDENTITY_KEY_BYTES]);
  return withModelKek(mkek, deviceId, (kek) => aesEcbDecrypt(kek, blob));
}
