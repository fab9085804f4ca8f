/**
 * The simulated TF-M's initial attestation service (psa_initial_attest_get_token), after the
 * sources (nrfconnect/sdk-trusted-firmware-m, ncs-v3.2.0 unless noted):
 * - secure_fw/partitions/initial_attestation/attest_core.c attest_create_token(): claims in the order
 *   nonce, boot seed, instance ID, implementation ID, client ID, security lifecycle, software
 *   components (PSA IoT Profile 1: NO_SW_COMPONENTS = 1 when there are none), profile; the optional
 *   claims (verification service, certification reference) are off on Nordic targets
 *   (platform/ext/target/nordic_nrf/.../config_tfm_target.h ATTEST_INCLUDE_OPTIONAL_CLAIMS 0).
 * - interface/include/tfm_attest_iat_defs.h: the claim keys of ATTEST_TOKEN_PROFILE_PSA_IOT_1
 *   (-75000 ..) and ATTEST_TOKEN_PROFILE_PSA_2_0_0 (the RFC 9783 keys; boot seed 268 from TF-M 2.2,
 *   2397 before).
 * - attest_token_encode.c: COSE_Sign1 with tag 18, protected header {1: -7} (ES256 for a P-256 IAK),
 *   empty unprotected header (no kid: ATTEST_INCLUDE_COSE_KEY_ID is off), 64-byte r || s.
 * - attest_asymmetric_key.c: the instance ID, 0x01 || SHA-256 of the raw public key (TF-M <= 2.1.x)
 *   or of its COSE_Key (2.2.0 on).
 * - sdk-nrf modules/trusted-firmware-m/tfm_boards/common/attest_hal.c: lifecycle from bl_storage,
 *   implementation ID from OTP, the profile string ("PSA_IOT_PROFILE_1" / "http://arm.com/psa/2.0.0",
 *   which TF-M uses because the HAL value is non-empty), boot seed from nrf_cc3xx_platform (32 random
 *   bytes per boot).
 * The software component is the simulator's stand-in for MCUboot's measured boot record of the
 * secure image: type "SPE", SHA-256 of the application flash as the simulated CPU reads it.
 * CBOR is cbor-x's; the COSE_Key the instance ID hashes is written out byte by byte (RFC 9052 7,
 * RFC 9053 7.1.1), independently of lib/keys.
 */
import { createHash } from 'node:crypto';
import { Encoder, Tag } from 'cbor-x';
import type { ErrorCode } from '../../errors';
import { es256Sign, p256PublicKey } from '../p256';
import { retrieveIdentityKey } from './kmu-driver';
import type { Cpu } from './model';
import { readLifecycle } from './model';
import { simInstanceId, tfmInstanceIdFormula, tfmSecurityLifecycle, type TfmBuildConfig, type TfmTokenProfile } from './tfm-config';

const KEYS = {
  PSA_IOT_1: { profile: -75000, clientId: -75001, lifecycle: -75002, implementationId: -75003, bootSeed: -75004, swComponents: -75006, nonce: -75008, instanceId: -75009 },
  PSA_2_0_0: { profile: 265, clientId: 2394, lifecycle: 2395, implementationId: 2396, bootSeed: 268, swComponents: 2399, nonce: 10, instanceId: 256 },
} as const;
/** PSA_2_0_0's boot seed key before TF-M 2.2 ("Attest: Update the key value of the bootseed claim"). */
const PSA_2_0_0_BOOT_SEED_BEFORE_2_2 = 2397;
const PROFILE_STRING: Record<TfmTokenProfile, string> = { PSA_IOT_1: 'PSA_IOT_PROFILE_1', PSA_2_0_0: 'http://arm.com/psa/2.0.0' };

const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false });

export interface AttestationRequest {
  /** The challenge: 32, 48 or 64 bytes (attest_verify_challenge_size). */
  challenge: Uint8Array;
  /** The caller's client ID (non-secure callers are negative). Default -1. */
  clientId?: number;
}

export interface AttestationAnswer {
  ok: boolean;
  /** The COSE_Sign1 token. */
  token?: Uint8Array;
  errorCode?: ErrorCode;
  message: string;
}

/** One initial attestation request to the TF-M `config` running on `cpu`'s device. */
export function attestationToken(cpu: Cpu, config: TfmBuildConfig, bootSeed: Uint8Array, request: AttestationRequest): AttestationAnswer {
  const t = cpu.target;
  if (![32, 48, 64].includes(request.challenge.length)) {
    return { ok: false, errorCode: 'INVALID_PARAMETER', message: `PSA_ATTEST_ERR_INVALID_INPUT: the challenge is ${request.challenge.length} bytes, not 32, 48 or 64.` };
  }
  // The IAK: TF-M loads it from KMU slots 6/7 through the CryptoCell (identity_key_read).
  const key = retrieveIdentityKey(cpu);
  if (!key.d) {
    return { ok: false, errorCode: 'TFM_ATTESTATION_FAILED', message: `PSA_ATTEST_ERR_GENERAL: the Initial Attestation Key cannot be loaded (${key.message})` };
  }
  try {
    const publicKey = p256PublicKey(key.d);
    const formula = tfmInstanceIdFormula(config.version);
    const implementationId = Buffer.alloc(32);
    for (let i = 0; i < 32; i += 4) implementationId.writeUInt32LE(cpu.read(t.implementationId.address + i) >>> 0, i);
    const k = KEYS[config.tokenProfile];
    const bootSeedKey = config.tokenProfile === 'PSA_2_0_0' && tfmInstanceIdFormula(config.version) === '2.1' ? PSA_2_0_0_BOOT_SEED_BEFORE_2_2 : k.bootSeed;
    // attest_boot_data.c attest_encode_sw_component(): keys in the order 5, 4, 1, (6), 2.
    const component = new Map<number, unknown>([
      [5, createHash('sha256').update('tfm-provision simulator: image signing key').digest()],
      [4, `${config.version}+0`],
      [1, 'SPE'],
      [2, measureApplicationFlash(cpu)],
    ]);
    const claims = new Map<number, unknown>([
      [k.nonce, Buffer.from(request.challenge)],
      [bootSeedKey, Buffer.from(bootSeed)],
      [k.instanceId, Buffer.from(simInstanceId(publicKey, formula), 'hex')],
      [k.implementationId, implementationId],
      [k.clientId, request.clientId ?? -1],
      [k.lifecycle, tfmSecurityLifecycle(readLifecycle(cpu))],
      [k.swComponents, [component]],
      [k.profile, PROFILE_STRING[config.tokenProfile]],
    ]);
    const protectedHeader = encoder.encode(new Map([[1, -7]]));
    const payload = encoder.encode(claims);
    const toBeSigned = encoder.encode(['Signature1', protectedHeader, Buffer.alloc(0), payload]);
    const signature = es256Sign(key.d, toBeSigned);
    const token = encoder.encode(new Tag([protectedHeader, new Map(), payload, Buffer.from(signature)], 18));
    return { ok: true, token: Uint8Array.from(token), message: `token of ${token.length} bytes (${PROFILE_STRING[config.tokenProfile]})` };
  } finally {
    key.d.fill(0);
  }
}

/** SHA-256 of the application flash's non-erased runs, in address order (the measured image). */
function measureApplicationFlash(cpu: Cpu): Buffer {
  const hash = createHash('sha256');
  for (const run of cpu.host.flashRuns('application')) hash.update(run);
  return hash.digest();
}
