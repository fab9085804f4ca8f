/**
 * The PSA attestation token profiles TF-M has produced, and the claim keys each uses.
 *
 * Sources (facts, not code):
 * - RFC 9783 (Arm's PSA Attestation Token), section 3 and the "Claim Key Mappings" table of its
 *   backwards-compatibility section: the EAT claims nonce 10, ueid 256, eat_profile 265, bootseed 268,
 *   and the registered PSA claims 2394..2400; eat_profile "tag:psacertified.org,2023:psa#tfm".
 * - PSA IoT Profile 1 (the "PSA_IOT_PROFILE_1" column of that table): private-use keys -75000..-75010.
 * - TF-M interface/include/tfm_attest_iat_defs.h (nrfconnect/sdk-trusted-firmware-m): the same two
 *   key sets under ATTEST_TOKEN_PROFILE_PSA_IOT_1 and ATTEST_TOKEN_PROFILE_PSA_2_0_0; until TF-M 2.2
 *   (commit "Attest: Update the key value of the bootseed claim", first in ncs-v3.2.0) the
 *   PSA_2_0_0 boot seed was 2397 (IAT_ARM_RANGE_BASE + 4), since then it is 268.
 * - The eat_profile string a Nordic device sends comes from sdk-nrf
 *   modules/trusted-firmware-m/tfm_boards/common/attest_hal.c (get_attestation_profile):
 *   "PSA_IOT_PROFILE_1" or "http://arm.com/psa/2.0.0"; upstream TF-M 2.2's own default for
 *   PSA_2_0_0 is the RFC 9783 string (secure_fw/partitions/initial_attestation/attest_core.c).
 */

export type ClaimKeyFamily = 'psa-iot-1' | 'eat';

/** Claim names used in results, the same for every profile. */
export type ClaimName =
  | 'nonce'
  | 'instanceId'
  | 'profile'
  | 'clientId'
  | 'securityLifecycle'
  | 'implementationId'
  | 'bootSeed'
  | 'certificationReference'
  | 'softwareComponents'
  | 'noSoftwareMeasurements'
  | 'verificationService';

export const IOT1_CLAIM_KEYS: Readonly<Partial<Record<ClaimName, number>>> = {
  profile: -75000,
  clientId: -75001,
  securityLifecycle: -75002,
  implementationId: -75003,
  bootSeed: -75004,
  certificationReference: -75005,
  softwareComponents: -75006,
  noSoftwareMeasurements: -75007,
  nonce: -75008,
  instanceId: -75009,
  verificationService: -75010,
};

/** RFC 9783 keys. bootSeed is listed here as 268; the older PSA 2.0.0 key 2397 is handled in the profile. */
export const EAT_CLAIM_KEYS: Readonly<Partial<Record<ClaimName, number>>> = {
  nonce: 10,
  instanceId: 256,
  profile: 265,
  bootSeed: 268,
  clientId: 2394,
  securityLifecycle: 2395,
  implementationId: 2396,
  certificationReference: 2398,
  softwareComponents: 2399,
  verificationService: 2400,
};

/** PSA 2.0.0 (TF-M before 2.2) put the boot seed at 2397. */
export const PSA_2_0_0_BOOT_SEED_KEY = 2397;

/** Keys inside one software component (RFC 9783 section 3.4.1; tfm_attest_iat_defs.h IAT_SW_COMPONENT_*). */
export const SW_COMPONENT_KEYS = {
  measurementType: 1,
  measurementValue: 2,
  version: 4,
  signerId: 5,
  measurementDescription: 6,
} as const;

export const PROFILE_RFC9783 = 'tag:psacertified.org,2023:psa#tfm';
export const PROFILE_PSA_IOT_1 = 'PSA_IOT_PROFILE_1';
export const PROFILE_PSA_2_0_0 = 'http://arm.com/psa/2.0.0';

export interface ProfileRules {
  /** The eat_profile value. */
  id: string;
  family: ClaimKeyFamily;
  /** Where the boot seed may be, in order of preference. */
  bootSeedKeys: number[];
  /** Allowed boot seed lengths. */
  bootSeedLengths: number[];
  /** Software component signer ID is mandatory (RFC 9783 CDDL) rather than recommended (Profile 1). */
  signerIdRequired: boolean;
  /** Profile 1 allows NO_SW_MEASUREMENTS (= 1) instead of a component list; RFC 9783 retired it. */
  allowsNoSoftwareMeasurements: boolean;
  /** The profile claim may be left out (PSA IoT Profile 1: iat-verifier's ProfileIdClaim is OPTIONAL,
   *  and TF-M 1.x put it among INCLUDE_OPTIONAL_CLAIMS); RFC 9783 requires it (psa-token CDDL). */
  profileClaimOptional: boolean;
}

/** Certification reference (PSA IoT Profile 1's hardware version): EAN-13, a dash, five digits,
 *  19 characters (RFC 9783 section 3.2.3 and its psa-certification-reference-type; iat-verifier's
 *  HardwareVersionClaim and CertificationReference both want exactly 19 characters). */
export const CERTIFICATION_REFERENCE = /^[0-9]{13}-[0-9]{5}$/;

const RANGE_8_TO_32 = Array.from({ length: 25 }, (_, i) => i + 8);

export const KNOWN_PROFILES: readonly ProfileRules[] = [
  {
    id: PROFILE_RFC9783,
    family: 'eat',
    bootSeedKeys: [268],
    // RFC 9783 section 3.3.2: between 8 and 32 bytes.
    bootSeedLengths: RANGE_8_TO_32,
    signerIdRequired: true,
    allowsNoSoftwareMeasurements: false,
    profileClaimOptional: false,
  },
  {
    id: PROFILE_PSA_2_0_0,
    family: 'eat',
    // 2397 before TF-M 2.2; 268 from TF-M 2.2 on while sdk-nrf's HAL still names this profile.
    bootSeedKeys: [PSA_2_0_0_BOOT_SEED_KEY, 268],
    bootSeedLengths: [32],
    signerIdRequired: false,
    allowsNoSoftwareMeasurements: false,
    profileClaimOptional: false,
  },
  {
    id: PROFILE_PSA_IOT_1,
    family: 'psa-iot-1',
    bootSeedKeys: [-75004],
    // PSA IoT Profile 1: a 32-byte boot seed (TF-M BOOT_SEED_SIZE).
    bootSeedLengths: [32],
    signerIdRequired: false,
    allowsNoSoftwareMeasurements: true,
    profileClaimOptional: true,
  },
];

export function claimKeysFor(family: ClaimKeyFamily): Readonly<Partial<Record<ClaimName, number>>> {
  return family === 'psa-iot-1' ? IOT1_CLAIM_KEYS : EAT_CLAIM_KEYS;
}

/** Rules for a profile value the caller names but that is not one of the known ones: the family's
 *  defaults (used for test vectors whose eat_profile is an example URL). */
export function rulesForCustomProfile(id: string, family: ClaimKeyFamily): ProfileRules {
  const base = KNOWN_PROFILES.find((p) => p.family === family && (family === 'eat' ? p.id === PROFILE_RFC9783 : true))!;
  return { ...base, id, bootSeedKeys: family === 'eat' ? [268, PSA_2_0_0_BOOT_SEED_KEY] : base.bootSeedKeys };
}

/** PSA security lifecycle major states (RFC 9783 section 3.3.1, psa-lifecycle CDDL). */
export const LIFECYCLE_MAJOR: Readonly<Record<number, string>> = {
  0x00: 'unknown',
  0x10: 'assembly-and-test',
  0x20: 'psa-rot-provisioning',
  0x30: 'secured',
  0x40: 'non-psa-rot-debug',
  0x50: 'recoverable-psa-rot-debug',
  0x60: 'decommissioned',
};

export function lifecycleName(value: number): string {
  const major = (value >> 8) & 0xff;
  const name = value >= 0 && value <= 0xffff ? LIFECYCLE_MAJOR[major] : undefined;
  return name === undefined ? `invalid-0x${value.toString(16)}` : `${name}-0x${value.toString(16).padStart(4, '0')}`;
}

/** SECURED is 0x3000..0x30ff (the minor byte is implementation defined). */
export function isSecuredLifecycle(value: number): boolean {
  return Number.isInteger(value) && value >= 0x3000 && value <= 0x30ff;
}
