/**
 * verifyAttestationToken: decode a PSA attestation token (COSE_Sign1, ES256), find the key the
 * station registered for its instance ID, check the signature with it, then check the claims against
 * the record and the profile. Every check is reported; each failed check carries one stable code.
 *
 * What is checked against what (docs/attestation.md has the table):
 * - signature: ES256 over Sig_structure with the registered identity public key;
 * - instance ID: present, 33 bytes, 0x01 first; registered; derived from that key under the formula
 *   the record names (when it names one);
 * - nonce: 32, 48 or 64 bytes (RFC 9783 section 3.1.1; TF-M attest_verify_challenge_size), equal to
 *   the nonce the verifier sent;
 * - implementation ID: equal to the one the record holds;
 * - security lifecycle: SECURED (0x3000..0x30ff);
 * - profile: the eat_profile expected, or one TF-M produces, matching the claim keys used;
 * - boot seed: present, of the profile's length;
 * - software components: a non-empty array of maps with a measurement value (and signer ID where the
 *   profile requires it), or Profile 1's NO_SW_MEASUREMENTS = 1;
 * - client ID (non-zero integer) and the optional certification reference and verification service:
 *   of their type.
 */
import { type ErrorCode, TfmError } from '../errors';
import { COSE_ALG_ES256, CoseFormatError, type CoseSign1, decodeCbor, decodeCoseSign1, isBytes, p256PublicKey, sigStructure, verifyEs256 } from './cose';
import { instanceIdUnder } from './instance-id';
import type { AttestationLookup, RegisteredDevice } from './lookup';
import {
  type ClaimKeyFamily,
  type ClaimName,
  KNOWN_PROFILES,
  type ProfileRules,
  CERTIFICATION_REFERENCE,
  SW_COMPONENT_KEYS,
  claimKeysFor,
  isSecuredLifecycle,
  lifecycleName,
  rulesForCustomProfile,
} from './profiles';

export interface VerifyAttestationOptions {
  lookup: AttestationLookup;
  /** The challenge the verifier sent (bytes or hex). Without it the nonce is decoded but not checked. */
  nonce?: Uint8Array | string;
  /** The eat_profile the verifier expects. Without it, any profile TF-M produces is accepted if its
   *  claim keys match it. */
  profile?: string;
}

export type CheckStatus = 'pass' | 'fail' | 'skipped' | 'warn';

export type CheckName =
  | 'cose'
  | 'algorithm'
  | 'claims'
  | 'profile'
  | 'instanceId'
  | 'registered'
  | 'signature'
  | 'instanceIdKey'
  | 'nonce'
  | 'implementationId'
  | 'lifecycle'
  | 'clientId'
  | 'bootSeed'
  | 'softwareComponents'
  | 'certificationReference'
  | 'verificationService';

export interface AttestationCheck {
  name: CheckName;
  status: CheckStatus;
  /** Set when status is 'fail'. */
  code?: ErrorCode;
  detail: string;
}

export interface SoftwareComponent {
  measurementType?: unknown;
  measurementValue?: unknown;
  version?: unknown;
  signerId?: unknown;
  measurementDescription?: unknown;
}

/** Every claim, decoded: byte strings as lowercase hex, maps as objects; `other` holds claims this
 *  verifier does not know (claims not understood are ignored, RFC 7519 section 4 as CWT follows it). */
export interface AttestationClaims {
  nonce?: unknown;
  instanceId?: unknown;
  profile?: unknown;
  clientId?: unknown;
  securityLifecycle?: unknown;
  /** The lifecycle's name, e.g. "secured-0x3000". */
  securityLifecycleName?: string;
  implementationId?: unknown;
  bootSeed?: unknown;
  certificationReference?: unknown;
  softwareComponents?: SoftwareComponent[] | unknown;
  noSoftwareMeasurements?: unknown;
  verificationService?: unknown;
  other: { key: string; value: unknown }[];
}

export interface AttestationResult {
  ok: boolean;
  /** The eat_profile the token was checked under. */
  profile?: string;
  claimKeys?: ClaimKeyFamily;
  tagged?: boolean;
  algorithm?: unknown;
  claims: AttestationClaims;
  checks: AttestationCheck[];
  /** The codes of the failed checks, in check order. */
  errorCodes: ErrorCode[];
  /** The registered device the instance ID led to. */
  device?: { deviceId?: string; chip?: string; lot?: string; source: string; instanceIdFormula?: string };
}

/** JSON-friendly form of a decoded CBOR value. */
function plain(value: unknown): unknown {
  if (isBytes(value)) return Buffer.from(value).toString('hex');
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) out[String(k)] = plain(v);
    return out;
  }
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function toBytes(value: Uint8Array | string, what: string): Buffer {
  if (typeof value !== 'string') return Buffer.from(value);
  const hex = value.replace(/^0x/i, '');
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new TfmError('INVALID_PARAMETER', `The ${what} must be hex (an even number of digits 0-9, a-f); got ${JSON.stringify(value)}.`);
  }
  return Buffer.from(hex, 'hex');
}

/** Which claim-key family the payload uses: the one with more of its keys present. */
function familyOf(payload: Map<unknown, unknown>): ClaimKeyFamily | undefined {
  const count = (family: ClaimKeyFamily): number => Object.values(claimKeysFor(family)).filter((k) => payload.has(k)).length;
  const iot = count('psa-iot-1');
  const eat = count('eat') + (payload.has(2397) ? 1 : 0);
  if (iot === 0 && eat === 0) return undefined;
  return iot > eat ? 'psa-iot-1' : 'eat';
}

class Checks {
  readonly list: AttestationCheck[] = [];
  pass(name: CheckName, detail: string): void {
    this.list.push({ name, status: 'pass', detail });
  }
  fail(name: CheckName, code: ErrorCode, detail: string): void {
    this.list.push({ name, status: 'fail', code, detail });
  }
  skip(name: CheckName, detail: string): void {
    this.list.push({ name, status: 'skipped', detail });
  }
  warn(name: CheckName, detail: string): void {
    this.list.push({ name, status: 'warn', detail });
  }
}

function result(checks: Checks, claims: AttestationClaims, extra: Partial<AttestationResult> = {}): AttestationResult {
  const errorCodes = checks.list.filter((c) => c.status === 'fail').map((c) => c.code!);
  return { ok: errorCodes.length === 0, claims, checks: checks.list, errorCodes, ...extra };
}

const HASH_LENGTHS = [32, 48, 64];
/** The sizes a PSA token's nonce may have (RFC 9783 section 3.1.1; TF-M attest_verify_challenge_size). */
export const NONCE_LENGTHS: readonly number[] = HASH_LENGTHS;

function describeLength(value: unknown): string {
  if (isBytes(value)) return `${value.length} bytes`;
  return `a ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}`;
}

const COMPONENT_KEYS = new Set<unknown>(Object.values(SW_COMPONENT_KEYS));

/** Software components: the problems (each fails the check) and the warnings. */
function softwareComponentProblems(value: unknown, rules: ProfileRules): { problems: string[]; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  if (!Array.isArray(value)) return { problems: ['the software components claim is not an array'], warnings };
  if (value.length === 0) problems.push('the software components array is empty');
  // iat-verifier's Profile 1 checks want measurement and signer ID of at least 32 bytes; RFC 9783's
  // psa-hash-type is exactly 32, 48 or 64.
  const hashOk = (b: Uint8Array): boolean => (rules.family === 'psa-iot-1' ? b.length >= 32 : HASH_LENGTHS.includes(b.length));
  value.forEach((component, i) => {
    const at = `component ${i}`;
    if (!(component instanceof Map)) {
      problems.push(`${at} is not a map`);
      return;
    }
    const measurement = component.get(SW_COMPONENT_KEYS.measurementValue);
    if (measurement === undefined) problems.push(`${at} has no measurement value (key 2)`);
    else if (!isBytes(measurement)) problems.push(`${at}: the measurement value is ${describeLength(measurement)}, not a byte string`);
    else if (!hashOk(measurement)) problems.push(`${at}: the measurement value is ${measurement.length} bytes`);
    const signer = component.get(SW_COMPONENT_KEYS.signerId);
    if (signer === undefined) {
      if (rules.signerIdRequired) problems.push(`${at} has no signer ID (key 5)`);
      else warnings.push(`${at} has no signer ID (key 5), which the profile recommends`);
    } else if (!isBytes(signer)) problems.push(`${at}: the signer ID is ${describeLength(signer)}, not a byte string`);
    else if (!hashOk(signer)) problems.push(`${at}: the signer ID is ${signer.length} bytes`);
    // iat-verifier warns of a component key it does not know and skips it ("Unexpected ... claim:
    // ..., skipping."); so does this verifier: an unknown key is no failure (claims not understood are ignored: RFC 7519 section 4, which CWT, RFC 8392, follows).
    const unknown = [...component.keys()].filter((k) => !COMPONENT_KEYS.has(k));
    if (unknown.length > 0) warnings.push(`${at} has ${unknown.length === 1 ? 'a key' : 'keys'} no profile defines (${unknown.map(String).join(', ')}), ignored`);
    for (const [name, key] of [
      ['measurement type', SW_COMPONENT_KEYS.measurementType],
      ['version', SW_COMPONENT_KEYS.version],
      ['measurement description', SW_COMPONENT_KEYS.measurementDescription],
    ] as const) {
      const v = component.get(key);
      if (v !== undefined && typeof v !== 'string') problems.push(`${at}: the ${name} (key ${key}) is not a text string`);
    }
  });
  return { problems, warnings };
}

function decodeClaims(payload: Map<unknown, unknown>, family: ClaimKeyFamily, bootSeedKey: number | undefined): AttestationClaims {
  const keys = claimKeysFor(family);
  const known = new Set<unknown>(Object.values(keys));
  if (bootSeedKey !== undefined) known.add(bootSeedKey);
  const claims: AttestationClaims = { other: [] };
  for (const [name, key] of Object.entries(keys) as [ClaimName, number][]) {
    const value = name === 'bootSeed' && bootSeedKey !== undefined ? payload.get(bootSeedKey) : payload.get(key);
    if (value === undefined) continue;
    if (name === 'softwareComponents' && Array.isArray(value)) {
      claims.softwareComponents = value.map((c) => {
        if (!(c instanceof Map)) return plain(c);
        const out: Record<string, unknown> = {};
        const names = Object.entries(SW_COMPONENT_KEYS) as [keyof SoftwareComponent, number][];
        for (const [k, v] of c) {
          const n = names.find(([, key]) => key === k);
          out[n ? n[0] : String(k)] = plain(v);
        }
        return out;
      });
    } else {
      (claims as unknown as Record<string, unknown>)[name] = plain(value);
    }
  }
  if (typeof claims.securityLifecycle === 'number') claims.securityLifecycleName = lifecycleName(claims.securityLifecycle);
  for (const [key, value] of payload) {
    if (!known.has(key)) claims.other.push({ key: String(key), value: plain(value) });
  }
  return claims;
}

export async function verifyAttestationToken(token: Uint8Array, options: VerifyAttestationOptions): Promise<AttestationResult> {
  const expectedNonce = options.nonce === undefined ? undefined : toBytes(options.nonce, 'nonce');
  // A verifier that sends a challenge of another size has a bug of its own: no token can carry it
  // (RFC 9783 section 3.1.1), so it is the caller's parameter that is wrong, not the token.
  if (expectedNonce !== undefined && !NONCE_LENGTHS.includes(expectedNonce.length)) {
    throw new TfmError('INVALID_PARAMETER', `The expected nonce is ${expectedNonce.length} bytes; a PSA token's nonce is 32, 48 or 64 bytes.`);
  }
  const checks = new Checks();
  const empty: AttestationClaims = { other: [] };

  // 1. The envelope.
  let cose: CoseSign1;
  try {
    cose = decodeCoseSign1(token);
  } catch (error) {
    if (!(error instanceof CoseFormatError)) throw error;
    checks.fail('cose', error.kind === 'tag' ? 'ATTEST_TAG_UNSUPPORTED' : 'ATTEST_MALFORMED', error.message);
    return result(checks, empty);
  }
  checks.pass('cose', `COSE_Sign1, ${cose.tagged ? 'tagged (18)' : 'untagged'}, ${cose.payload.length}-byte payload`);
  const algOk = cose.alg === COSE_ALG_ES256;
  if (algOk) checks.pass('algorithm', 'ES256 (-7) in the protected header');
  else if (cose.alg === undefined) {
    checks.fail('algorithm', 'ATTEST_ALGORITHM_UNSUPPORTED', 'The protected header names no algorithm (label 1); a PSA token signs with ES256 and must say so where the signature covers it.');
  } else checks.fail('algorithm', 'ATTEST_ALGORITHM_UNSUPPORTED', `The token is signed with COSE algorithm ${String(cose.alg)}; this verifier checks ES256 (-7), the algorithm of TF-M's P-256 identity key.`);

  // 2. The claims set.
  let payload: unknown;
  try {
    payload = decodeCbor(cose.payload, 'The payload');
  } catch (error) {
    checks.fail('claims', 'ATTEST_MALFORMED', (error as Error).message);
    return result(checks, empty, { tagged: cose.tagged, algorithm: plain(cose.alg) });
  }
  if (!(payload instanceof Map)) {
    checks.fail('claims', 'ATTEST_MALFORMED', 'The payload is not a CBOR map of claims.');
    return result(checks, empty, { tagged: cose.tagged, algorithm: plain(cose.alg) });
  }
  const family = familyOf(payload);
  if (family === undefined) {
    checks.fail('claims', 'ATTEST_PROFILE_UNSUPPORTED', 'The payload holds none of the claim keys of RFC 9783 or PSA IoT Profile 1.');
    return result(checks, { other: [...payload].map(([k, v]) => ({ key: String(k), value: plain(v) })) }, { tagged: cose.tagged, algorithm: plain(cose.alg) });
  }
  const keys = claimKeysFor(family);
  const get = (name: ClaimName): unknown => payload.get(keys[name]);
  checks.pass('claims', `${payload.size} claims, keys of ${family === 'eat' ? 'RFC 9783 / PSA 2.0.0' : 'PSA IoT Profile 1'}`);

  // 3. Profile: decides the boot seed key and the component rules.
  const profileValue = get('profile');
  let rules: ProfileRules | undefined;
  const familyDefault = KNOWN_PROFILES.find((p) => p.family === family && p.profileClaimOptional);
  if (profileValue === undefined && familyDefault !== undefined && options.profile === undefined) {
    // PSA IoT Profile 1 makes the claim optional (iat-verifier's ProfileIdClaim is OPTIONAL; TF-M 1.x
    // sent it only with INCLUDE_OPTIONAL_CLAIMS): the claim keys say which profile the token is.
    rules = familyDefault;
    checks.warn('profile', `The token has no profile claim (optional in PSA IoT Profile 1); checked under "${familyDefault.id}", the profile of its claim keys.`);
  } else if (typeof profileValue !== 'string') {
    checks.fail('profile', 'ATTEST_PROFILE_UNSUPPORTED', profileValue === undefined ? 'The token has no profile claim.' : `The profile claim is ${describeLength(profileValue)}, not a text string.`);
  } else if (options.profile !== undefined) {
    if (profileValue === options.profile) {
      rules = KNOWN_PROFILES.find((p) => p.id === profileValue && p.family === family) ?? rulesForCustomProfile(profileValue, family);
      checks.pass('profile', `"${profileValue}", as expected`);
    } else {
      checks.fail('profile', 'ATTEST_PROFILE_UNSUPPORTED', `The token's profile is "${profileValue}"; the verifier expects "${options.profile}".`);
    }
  } else {
    rules = KNOWN_PROFILES.find((p) => p.id === profileValue);
    if (rules === undefined) {
      checks.fail('profile', 'ATTEST_PROFILE_UNSUPPORTED', `The token's profile "${profileValue}" is none of ${KNOWN_PROFILES.map((p) => `"${p.id}"`).join(', ')} (name it with --profile to accept it).`);
    } else if (rules.family !== family) {
      checks.fail('profile', 'ATTEST_PROFILE_UNSUPPORTED', `The token says "${profileValue}" but uses the claim keys of ${family === 'eat' ? 'RFC 9783' : 'PSA IoT Profile 1'}.`);
      rules = undefined;
    } else {
      checks.pass('profile', `"${profileValue}"`);
    }
  }
  const effective = rules ?? (family === 'eat' ? rulesForCustomProfile('', 'eat') : KNOWN_PROFILES.find((p) => p.family === 'psa-iot-1')!);
  const bootSeedKey = effective.bootSeedKeys.find((k) => payload.has(k));
  const claims = decodeClaims(payload, family, bootSeedKey);
  const base = { profile: typeof profileValue === 'string' ? profileValue : undefined, claimKeys: family, tagged: cose.tagged, algorithm: plain(cose.alg) };

  // 4. Instance ID -> registered device -> key -> signature.
  const instanceId = get('instanceId');
  let device: RegisteredDevice | undefined;
  let instanceHex: string | undefined;
  if (instanceId === undefined) {
    checks.fail('instanceId', 'ATTEST_CLAIM_MISSING', 'The token has no instance ID claim, so there is no key to check it with.');
  } else if (!isBytes(instanceId) || instanceId.length !== 33 || instanceId[0] !== 0x01) {
    checks.fail('instanceId', 'ATTEST_CLAIM_INVALID', `The instance ID is ${describeLength(instanceId)}${isBytes(instanceId) ? ` starting 0x${(instanceId[0] ?? 0).toString(16)}` : ''}; it must be 33 bytes, 0x01 (RAND) first.`);
  } else {
    instanceHex = Buffer.from(instanceId).toString('hex');
    checks.pass('instanceId', instanceHex);
    device = await options.lookup(instanceHex);
    if (device === undefined) checks.fail('registered', 'ATTEST_UNKNOWN_INSTANCE', `No registered device has instance ID ${instanceHex}.`);
    else checks.pass('registered', `${device.deviceId !== undefined ? `device ${device.deviceId}` : 'an entry'} in ${device.source}`);
  }
  if (device === undefined) checks.skip('signature', 'No registered key to check the signature with.');
  else if (!algOk) checks.skip('signature', 'Not checked: the algorithm is not ES256.');
  else {
    let good = false;
    try {
      good = verifyEs256(p256PublicKey(device.identityPublicKey), sigStructure(cose.protectedBytes, cose.payload), cose.signature);
    } catch {
      good = false;
    }
    if (good) checks.pass('signature', 'ES256 signature made by the registered identity key');
    else checks.fail('signature', 'ATTEST_SIGNATURE_INVALID', `The signature does not verify with the identity key registered for this instance ID (${cose.signature.length}-byte signature).`);
  }
  if (device !== undefined && instanceHex !== undefined) {
    if (device.instanceIdFormula === undefined) checks.skip('instanceIdKey', 'The entry names no instance-ID formula, so the ID cannot be re-derived from its key.');
    else {
      const derived = instanceIdUnder(device.identityPublicKey, device.instanceIdFormula);
      if (derived === instanceHex) checks.pass('instanceIdKey', `derived from the registered key (TF-M ${device.instanceIdFormula} formula)`);
      else checks.fail('instanceIdKey', 'ATTEST_INSTANCE_ID_MISMATCH', `The registered key gives instance ID ${derived} under the TF-M ${device.instanceIdFormula} formula, not the token's.`);
    }
  }

  // 5. Claims against the record and the profile.
  const nonce = get('nonce');
  if (nonce === undefined) checks.fail('nonce', 'ATTEST_CLAIM_MISSING', 'The token has no nonce claim.');
  else if (!isBytes(nonce) || !HASH_LENGTHS.includes(nonce.length)) checks.fail('nonce', 'ATTEST_CLAIM_INVALID', `The nonce is ${describeLength(nonce)}; it must be 32, 48 or 64 bytes.`);
  else if (expectedNonce === undefined) checks.skip('nonce', 'No nonce given to compare with: this token may be a replay.');
  else if (Buffer.from(nonce).equals(expectedNonce)) checks.pass('nonce', 'equals the nonce sent');
  else checks.fail('nonce', 'ATTEST_NONCE_MISMATCH', `The token's nonce ${Buffer.from(nonce).toString('hex')} is not the one sent (${expectedNonce.toString('hex')}).`);

  const implementationId = get('implementationId');
  if (implementationId === undefined) checks.fail('implementationId', 'ATTEST_CLAIM_MISSING', 'The token has no implementation ID claim.');
  else if (!isBytes(implementationId)) checks.fail('implementationId', 'ATTEST_CLAIM_INVALID', `The implementation ID is ${describeLength(implementationId)}, not a byte string.`);
  else if (device === undefined) checks.skip('implementationId', 'No registered device to compare with.');
  else if (device.implementationId === undefined) checks.fail('implementationId', 'ATTEST_IMPLEMENTATION_ID_MISMATCH', `The token says ${Buffer.from(implementationId).toString('hex')}; the record holds no implementation ID to compare with.`);
  else if (Buffer.from(implementationId).toString('hex') === device.implementationId.toLowerCase()) checks.pass('implementationId', 'equals the registered implementation ID');
  else checks.fail('implementationId', 'ATTEST_IMPLEMENTATION_ID_MISMATCH', `The token says ${Buffer.from(implementationId).toString('hex')}; the record says ${device.implementationId}.`);

  const lifecycle = get('securityLifecycle');
  if (lifecycle === undefined) checks.fail('lifecycle', 'ATTEST_CLAIM_MISSING', 'The token has no security lifecycle claim.');
  else if (typeof lifecycle !== 'number' || !Number.isInteger(lifecycle) || lifecycle < 0) checks.fail('lifecycle', 'ATTEST_CLAIM_INVALID', 'The security lifecycle is not an unsigned integer.');
  else if (isSecuredLifecycle(lifecycle)) checks.pass('lifecycle', lifecycleName(lifecycle));
  else checks.fail('lifecycle', 'ATTEST_LIFECYCLE_NOT_SECURED', `The device reports lifecycle ${lifecycleName(lifecycle)}; only SECURED (0x3000..0x30ff) is trusted.`);

  const clientId = get('clientId');
  if (clientId === undefined) checks.fail('clientId', 'ATTEST_CLAIM_MISSING', 'The token has no client ID claim.');
  else if (typeof clientId !== 'number' || !Number.isInteger(clientId) || clientId === 0 || clientId < -0x80000000 || clientId > 0x7fffffff) {
    checks.fail('clientId', 'ATTEST_CLAIM_INVALID', `The client ID ${JSON.stringify(plain(clientId))} is not a non-zero 32-bit signed integer (RFC 9783 section 3.1.2, psa-client-id-type).`);
  }
  else checks.pass('clientId', `${clientId} (${clientId < 0 ? 'non-secure' : 'secure'} caller)`);

  const bootSeed = bootSeedKey === undefined ? undefined : payload.get(bootSeedKey);
  if (bootSeed === undefined) checks.fail('bootSeed', 'ATTEST_BOOT_SEED_MISSING', 'The token has no boot seed (TF-M adds one to every token: attest_core.c claim list).');
  else if (!isBytes(bootSeed) || !effective.bootSeedLengths.includes(bootSeed.length)) checks.fail('bootSeed', 'ATTEST_CLAIM_INVALID', `The boot seed is ${describeLength(bootSeed)}.`);
  else checks.pass('bootSeed', `${bootSeed.length} bytes (key ${bootSeedKey})`);

  const components = get('softwareComponents');
  const noMeasurements = family === 'psa-iot-1' ? get('noSoftwareMeasurements') : undefined;
  if (components === undefined) {
    if (effective.allowsNoSoftwareMeasurements && noMeasurements === 1) checks.pass('softwareComponents', 'none, and NO_SW_MEASUREMENTS = 1 says so');
    else checks.fail('softwareComponents', 'ATTEST_SW_COMPONENTS_INVALID', `The token has no software components${effective.allowsNoSoftwareMeasurements ? ' and no NO_SW_MEASUREMENTS claim' : ''}.`);
  } else {
    const { problems, warnings } = softwareComponentProblems(components, effective);
    if (problems.length > 0) checks.fail('softwareComponents', 'ATTEST_SW_COMPONENTS_INVALID', `${problems.join('; ')}.`);
    else if (warnings.length > 0) checks.warn('softwareComponents', `${(components as unknown[]).length} components; ${warnings.join('; ')}.`);
    else checks.pass('softwareComponents', `${(components as unknown[]).length} components, each with a measurement${effective.signerIdRequired ? ' and signer ID' : ''}`);
  }

  const certRef = get('certificationReference');
  if (certRef !== undefined) {
    if (typeof certRef === 'string' && CERTIFICATION_REFERENCE.test(certRef)) checks.pass('certificationReference', certRef);
    else {
      const what = typeof certRef === 'string' ? `${JSON.stringify(certRef)} (${certRef.length} characters)` : describeLength(certRef);
      checks.fail('certificationReference', 'ATTEST_CLAIM_INVALID', `The certification reference is ${what}; it must be 19 characters: EAN-13, a dash, five digits (RFC 9783 section 3.2.3).`);
    }
  }
  const service = get('verificationService');
  if (service !== undefined) {
    if (typeof service === 'string') checks.pass('verificationService', service);
    else checks.fail('verificationService', 'ATTEST_CLAIM_INVALID', 'The verification service indicator is not a text string.');
  }

  return result(checks, claims, {
    ...base,
    profile: rules?.id ?? base.profile,
    device: device === undefined ? undefined : { deviceId: device.deviceId, chip: device.chip, ...(device.lot !== undefined ? { lot: device.lot } : {}), source: device.source, instanceIdFormula: device.instanceIdFormula },
  });
}

/** The first failed check as a TfmError (for callers that throw), or undefined when all passed. */
export function attestationError(outcome: AttestationResult): TfmError | undefined {
  const failed = outcome.checks.find((c) => c.status === 'fail');
  if (failed === undefined) return undefined;
  const more = outcome.errorCodes.length > 1 ? ` (${outcome.errorCodes.length - 1} more failed: ${outcome.errorCodes.slice(1).join(', ')})` : '';
  return new TfmError(failed.code!, `${failed.detail}${more}`, { details: { errorCodes: outcome.errorCodes } });
}
