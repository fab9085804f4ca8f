/**
 * Tokens nobody here wrote: RFC 9783 Appendix A and TF-M's iat-verifier test data
 * (TrustedFirmware-M/tf-m-tools iat-verifier/tests/data, BSD-3-Clause). Each token verifies with its
 * key, or fails for the reason iat-verifier gives: the expected outcome of every file is in the tables
 * below, each with the upstream test or source that says so (iat-verifier/tests/test_verifier.py,
 * docs/iat-verifier.rst and the claim classes in iat-verifier/iatverifier/, all at tf-m-tools commit
 * 08c16e9420533af6204157dc3593a341ff078c1b).
 *
 * The vectors are not in this repository (fetched material is never committed here). They are found
 * in $TFM_PROVISION_ATTEST_VECTORS or in shared/attestation-vectors beside the repository, with the
 * layout docs/attestation.md ("Upstream test vectors") gives. Without them this file prints one line
 * and skips; with TFM_PROVISION_ATTEST_VECTORS naming a directory that lacks them, it fails.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KeyObject, createECDH, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { Decoder, Tag } from 'cbor-x';
import { type AttestationResult, type CheckName, type StaticEntry, decodeCoseSign1, staticLookup, verifyAttestationToken } from '../../lib/attest';
import { DUMMY_IDENTITY_KEY_HEX } from '../../lib/sim/firmware/markers';
import { compileIatYaml } from './iat-yaml';
import { UPSTREAM_FILES, VECTORS_ENV, locateUpstreamVectors, signClaims, uncompressedOf } from './support';

describe('where the upstream vectors are looked for', () => {
  it(`a ${VECTORS_ENV} naming a directory without them is reported as explicit, with what is missing`, () => {
    const empty = mkdtempSync(join(tmpdir(), 'attest-vectors-'));
    try {
      const found = locateUpstreamVectors({ [VECTORS_ENV]: empty });
      expect(found).toEqual({ explicit: true, problem: `${VECTORS_ENV}=${empty}: no vectors there` });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

const vectors = locateUpstreamVectors();
if (vectors.dir !== undefined) {
  defineSuites(vectors.dir);
} else if (vectors.explicit) {
  describe('upstream attestation vectors', () => {
    it(`are in the directory ${VECTORS_ENV} names`, () => {
      throw new Error(`${vectors.problem} (docs/attestation.md, "Upstream test vectors", gives the layout)`);
    });
  });
} else {
  // One line where a run's output shows it: these checks did not run.
  process.stderr.write(`test/attest/upstream-vectors: SKIPPED, upstream vectors absent (${vectors.problem}); docs/attestation.md "Upstream test vectors" says how to put them in place\n`);
  describe.skip('upstream attestation vectors (absent: docs/attestation.md, "Upstream test vectors")', () => {
    it('RFC 9783 Appendix A and tf-m-tools iat-verifier/tests/data', () => undefined);
  });
}

/** The failed checks as "check:CODE", in check order. */
const failed = (r: AttestationResult): string[] => r.checks.filter((c) => c.status === 'fail').map((c) => `${c.name}:${c.code}`);
const statusOf = (r: AttestationResult, name: CheckName): string | undefined => r.checks.find((c) => c.name === name)?.status;

/** TF-M's dummy IAK (tfm_initial_attestation_key.pem; lib/sim/firmware/markers.ts), as a key pair. */
function dummyIak(): { privateKey: KeyObject; publicKey: Uint8Array } {
  const ecdh = createECDH('prime256v1');
  const d = Buffer.from(DUMMY_IDENTITY_KEY_HEX, 'hex');
  ecdh.setPrivateKey(d);
  const pub = ecdh.getPublicKey();
  const privateKey = createPrivateKey({
    key: { kty: 'EC', crv: 'P-256', d: d.toString('base64url'), x: pub.subarray(1, 33).toString('base64url'), y: pub.subarray(33).toString('base64url') },
    format: 'jwk',
  });
  return { privateKey, publicKey: Uint8Array.from(pub) };
}

function defineSuites(dir: string): void {
  const file = (name: string): Buffer => readFileSync(join(dir, name));
  const tfm = (name: string): Buffer => file(join('tf-m-tools', name));
  const hexFile = (name: string): Buffer => Buffer.from(file(join('rfc9783', name)).toString('utf8').replace(/[^0-9a-fA-F]/g, ''), 'hex');
  const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });

  describe('the upstream vectors', () => {
    it.each(UPSTREAM_FILES)('%s is the file taken from its origin (SHA-256)', (name, sha256) => {
      expect(createHash('sha256').update(file(name)).digest('hex')).toBe(sha256);
    });
  });

  describe('RFC 9783 Appendix A example tokens', () => {
    // The IAK of the example, a JWK (Appendix A.1); the verifier gets only its public half.
    const jwk = JSON.parse(file('rfc9783/tfm-es-iak.json').toString('utf8')) as { x: string; y: string; crv: string; kty: string };
    const iak = uncompressedOf(createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' }));
    // The example's claims (sign1-claims.diag): ueid 01 02.., implementation ID 32 zero bytes, nonce 01...
    const instanceId = `01${'02'.repeat(32)}`;
    const lookup = staticLookup([{ instanceId, identityPublicKey: iak, implementationId: '00'.repeat(32) }], 'RFC 9783 appendix');

    it('the example IAK is the same P-256 key as iat-verifier\'s key.pem (tfm-es-iak.pem and key.pem are one file)', () => {
      expect(uncompressedOf(createPublicKey(createPrivateKey(tfm('key.pem'))))).toEqual(iak);
    });

    it('the COSE_Sign1 example verifies with the example IAK, nonce and implementation ID', async () => {
      const r = await verifyAttestationToken(hexFile('psa-sign1.hex'), { lookup, nonce: '01'.repeat(32) });
      expect(failed(r)).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.profile).toBe('tag:psacertified.org,2023:psa#tfm');
      expect(r.tagged).toBe(true);
      expect(r.claims).toMatchObject({
        instanceId,
        clientId: 2147483647,
        securityLifecycle: 12288,
        securityLifecycleName: 'secured-0x3000',
        // RFC 9783 allows a boot seed of 8..32 bytes; the example's is 8.
        bootSeed: '00'.repeat(8),
        softwareComponents: [{ measurementType: 'PRoT', measurementValue: '03'.repeat(32), signerId: '04'.repeat(32) }],
      });
      // The example has no instance-ID formula to re-derive (its ueid is not a hash of the IAK).
      expect(statusOf(r, 'instanceIdKey')).toBe('skipped');
    });

    it('the same token with another nonce fails ATTEST_NONCE_MISMATCH, and with iat-verifier\'s key-alt.pem ATTEST_SIGNATURE_INVALID', async () => {
      expect((await verifyAttestationToken(hexFile('psa-sign1.hex'), { lookup, nonce: '02'.repeat(32) })).errorCodes).toEqual(['ATTEST_NONCE_MISMATCH']);
      const alt = uncompressedOf(createPublicKey(createPrivateKey(tfm('key-alt.pem'))));
      const wrongKey = staticLookup([{ instanceId, identityPublicKey: alt, implementationId: '00'.repeat(32) }]);
      expect((await verifyAttestationToken(hexFile('psa-sign1.hex'), { lookup: wrongKey, nonce: '01'.repeat(32) })).errorCodes).toEqual(['ATTEST_SIGNATURE_INVALID']);
    });

    it('the COSE_Mac0 example (tag 17, HS256) is refused as ATTEST_TAG_UNSUPPORTED: it needs the device\'s secret key', async () => {
      const r = await verifyAttestationToken(hexFile('psa-mac0.hex'), { lookup });
      expect(r.errorCodes).toEqual(['ATTEST_TAG_UNSUPPORTED']);
      expect(r.checks[0]!.detail).toContain('COSE_Mac0');
    });
  });

  describe('tf-m-tools iat-verifier test data', () => {
    const key = createPrivateKey(tfm('key.pem'));
    const keyAlt = createPrivateKey(tfm('key-alt.pem'));
    const dummy = dummyIak();
    // The Profile 1 claim sets share these values (valid-iat.yaml); their instance ID is not derived from key.pem.
    const implementationId = '07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918';
    const entry: StaticEntry = { instanceId: `01${implementationId}`, identityPublicKey: uncompressedOf(createPublicKey(key)), implementationId };
    const lookup = staticLookup([entry], 'iat-verifier key.pem');
    const nonce = implementationId;
    // Their eat_profile is an example URL; the verifier is told to expect it, as iat-verifier accepts any
    // string there (psa_iot_profile1_token_claims.py ProfileIdClaim.verify checks the type only).
    const profile = 'http://example.com';
    // The PSA 2.0.0 token's instance ID is TF-M's dummy IAK under TF-M 2.1's formula: registered as such.
    const dummyLookup = staticLookup([{ identityPublicKey: dummy.publicKey, instanceIdFormula: '2.1', implementationId: 'aa'.repeat(8) + 'bb'.repeat(8) + 'cc'.repeat(8) + 'dd'.repeat(8) }], 'TF-M dummy IAK');

    interface TokenCase {
      file: string;
      /** Where the expected outcome comes from, upstream. */
      upstream: string;
      lookup: 'key.pem' | 'key-alt.pem' | 'dummy IAK';
      profile?: string;
      nonce?: string;
      /** The failed checks, exactly, in check order. */
      fails: string[];
      /** Checks that must pass (or warn) for the outcome to mean what the case says. */
      passes?: CheckName[];
    }
    const lookups = { 'key.pem': lookup, 'key-alt.pem': staticLookup([{ ...entry, identityPublicKey: uncompressedOf(createPublicKey(keyAlt)) }]), 'dummy IAK': dummyLookup };

    // Every .cbor file of iat-verifier/tests/data: the token as it is.
    const tokens: TokenCase[] = [
      {
        file: 'iat.cbor',
        upstream: 'docs/iat-verifier.rst: "check_iat -t PSA-IoT-Profile1-token -k tests/data/key.pem tests/data/iat.cbor" (signed with key.pem)',
        lookup: 'key.pem', profile, nonce, fails: [], passes: ['signature', 'nonce', 'implementationId', 'lifecycle', 'bootSeed', 'softwareComponents'],
      },
      {
        file: 'iat.cbor',
        upstream: 'test_verifier.py test_validate_signature: a token checked with the other key is "Bad signature"',
        lookup: 'key-alt.pem', profile, nonce, fails: ['signature:ATTEST_SIGNATURE_INVALID'],
      },
      {
        file: 'iat.cbor',
        upstream: 'stricter than iat-verifier (docs/attestation.md): without --profile, only the profiles TF-M produces are accepted, and "http://example.com" is none',
        lookup: 'key.pem', nonce, fails: ['profile:ATTEST_PROFILE_UNSUPPORTED'], passes: ['signature'],
      },
      {
        file: 'iat-hmac.cbor',
        upstream: 'docs/iat-verifier.rst: checked with "-m mac -k tests/data/hmac.key" (COSE_Mac0, a symmetric IAK); this verifier checks ES256 COSE_Sign1 only',
        lookup: 'key.pem', profile, nonce, fails: ['cose:ATTEST_TAG_UNSUPPORTED'],
      },
      {
        file: 'malformed.cbor',
        upstream: 'test_verifier.py test_validate_iat_structure: read_iat(malformed.cbor) raises "Bad COSE"',
        lookup: 'key.pem', profile, nonce, fails: ['cose:ATTEST_MALFORMED'],
      },
      {
        file: 'psa-2_0_0_sign1-token.cbor',
        upstream: 'psa_2_0_0_token_verifier.py _parse_p_header: "Missing alg from protected header" (the file predates tf-m-tools commit e305e55 "Make protected header mandatory")',
        lookup: 'dummy IAK', nonce: '00'.repeat(64), fails: ['algorithm:ATTEST_ALGORITHM_UNSUPPORTED'],
        // Its instance ID is the dummy IAK's under TF-M 2.1's formula: a TF-M-made token confirms the formula.
        passes: ['profile', 'instanceId', 'registered', 'instanceIdKey', 'nonce', 'implementationId', 'lifecycle', 'bootSeed', 'softwareComponents', 'certificationReference'],
      },
      {
        file: 'invalid-profile-id.cbor',
        upstream: 'psa_iot_profile1_token_verifier.py _parse_p_header: "Missing algorithm from protected header"; ProfileIdClaim: the profile must be a str (it is bytes); the lifecycle is 2, not SECURED',
        lookup: 'key.pem', profile, nonce,
        fails: ['algorithm:ATTEST_ALGORITHM_UNSUPPORTED', 'profile:ATTEST_PROFILE_UNSUPPORTED', 'lifecycle:ATTEST_LIFECYCLE_NOT_SECURED'],
      },
      {
        file: 'missing-sw-comps.cbor',
        upstream: '_parse_p_header: "Missing algorithm from protected header"; an empty component list (RFC 9783 psa-software-components: [ + component ]); lifecycle 2',
        lookup: 'key.pem', profile, nonce,
        fails: ['algorithm:ATTEST_ALGORITHM_UNSUPPORTED', 'lifecycle:ATTEST_LIFECYCLE_NOT_SECURED', 'softwareComponents:ATTEST_SW_COMPONENTS_INVALID'],
      },
      {
        file: 'no-sw-measurements.cbor',
        upstream: '_parse_p_header: "Missing algorithm from protected header"; NO_MEASUREMENTS = 1 without components is valid (PSAIoTProfile1TokenVerifier.verify); lifecycle 2',
        lookup: 'key.pem', profile, nonce,
        fails: ['algorithm:ATTEST_ALGORITHM_UNSUPPORTED', 'lifecycle:ATTEST_LIFECYCLE_NOT_SECURED'], passes: ['softwareComponents'],
      },
      {
        file: 'missing-claim.cbor',
        upstream: '_parse_p_header: "Missing algorithm from protected header"; it uses the claim keys of an early EAT draft (8, 11, 23, 30), so the Profile 1 mandatory claims are "missing"',
        lookup: 'key.pem', profile, nonce,
        fails: ['algorithm:ATTEST_ALGORITHM_UNSUPPORTED', 'profile:ATTEST_PROFILE_UNSUPPORTED', 'instanceId:ATTEST_CLAIM_MISSING', 'nonce:ATTEST_CLAIM_MISSING', 'implementationId:ATTEST_CLAIM_INVALID', 'lifecycle:ATTEST_CLAIM_MISSING', 'clientId:ATTEST_CLAIM_MISSING', 'bootSeed:ATTEST_BOOT_SEED_MISSING', 'softwareComponents:ATTEST_SW_COMPONENTS_INVALID'],
      },
      {
        file: 'submod-missing-claim.cbor',
        upstream: '_parse_p_header: "Missing algorithm from protected header"; the early EAT draft keys as in missing-claim.cbor',
        lookup: 'key.pem', profile, nonce,
        fails: ['algorithm:ATTEST_ALGORITHM_UNSUPPORTED', 'profile:ATTEST_PROFILE_UNSUPPORTED', 'instanceId:ATTEST_CLAIM_MISSING', 'nonce:ATTEST_CLAIM_MISSING', 'implementationId:ATTEST_CLAIM_INVALID', 'lifecycle:ATTEST_LIFECYCLE_NOT_SECURED', 'bootSeed:ATTEST_BOOT_SEED_MISSING', 'softwareComponents:ATTEST_SW_COMPONENTS_INVALID'],
      },
      // Arm CCA tokens (test_validate_cca_data_cbor checks them with CCATokenVerifier, ES384): not PSA
      // tokens, and refused as such.
      ...['cca_example_platform_token.cbor', 'cca_example_platform_token_legacy.cbor', 'cca_platform_token.cbor'].map((file): TokenCase => ({
        file,
        upstream: 'test_validate_cca_data_cbor: a CCA platform token, ES384 (-35): not a PSA token',
        lookup: 'key.pem', profile,
        fails: ['algorithm:ATTEST_ALGORITHM_UNSUPPORTED', 'profile:ATTEST_PROFILE_UNSUPPORTED', 'implementationId:ATTEST_IMPLEMENTATION_ID_MISMATCH', 'clientId:ATTEST_CLAIM_MISSING', 'bootSeed:ATTEST_BOOT_SEED_MISSING'],
      })),
      ...['cca_example_token.cbor', 'cca_example_token_legacy.cbor', 'cca_token.cbor'].map((file): TokenCase => ({
        file,
        upstream: 'test_validate_cca_data_cbor: a CCA token collection (CBOR tag 907): not a PSA token',
        lookup: 'key.pem', profile, fails: ['cose:ATTEST_TAG_UNSUPPORTED'],
      })),
    ];

    it.each(tokens.map((t) => [`${t.file} (${t.lookup}${t.profile === undefined ? ', no --profile' : ''})`, t] as const))('%s', async (_name, t) => {
      const r = await verifyAttestationToken(tfm(t.file), { lookup: lookups[t.lookup], nonce: t.nonce, profile: t.profile });
      expect({ file: t.file, upstream: t.upstream, fails: failed(r) }).toEqual({ file: t.file, upstream: t.upstream, fails: t.fails });
      for (const name of t.passes ?? []) expect([name, statusOf(r, name)]).toEqual([name, expect.stringMatching(/^(pass|warn)$/)]);
    });

    it('psa-2_0_0_sign1-token.cbor decodes as PSA 2.0.0: its profile, the boot seed at 2397 and the certification reference', async () => {
      const r = await verifyAttestationToken(tfm('psa-2_0_0_sign1-token.cbor'), { lookup: dummyLookup, nonce: Buffer.alloc(64) });
      expect(r.profile).toBe('http://arm.com/psa/2.0.0');
      expect(r.claims.bootSeed).toBe(Buffer.from(Array.from({ length: 32 }, (_, i) => 0xa0 + i)).toString('hex'));
      expect(r.claims.certificationReference).toBe('0604565272829-10010');
      expect(r.checks.find((c) => c.name === 'bootSeed')!.detail).toContain('key 2397');
    });

    interface YamlCase {
      file: string;
      upstream: string;
      signWith?: 'key-alt.pem';
      fails: string[];
      /** Checks that end in 'warn' (iat-verifier logs a warning there). */
      warns?: CheckName[];
      /** Text each named check's detail must hold: what iat-verifier's messages name. */
      details?: Partial<Record<CheckName, string[]>>;
    }
    // The Profile 1 YAML claim sets, compiled with iat-verifier's keys (iat-yaml.ts) and signed with
    // key.pem, as test_utils.py create_and_read_iat does.
    const yamls: YamlCase[] = [
      { file: 'valid-iat.yaml', upstream: 'test_validate_iat_structure: create_and_read_iat(valid-iat.yaml) verifies', fails: [] },
      {
        file: 'valid-iat.yaml', signWith: 'key-alt.pem',
        upstream: 'test_validate_signature: valid-iat.yaml signed with key-alt.pem, checked with key.pem: "Bad signature"',
        fails: ['signature:ATTEST_SIGNATURE_INVALID'],
      },
      { file: 'iat.yaml', upstream: 'the claims of iat.cbor (below), which verifies with key.pem', fails: [] },
      {
        file: 'missing-signer-id.yaml', upstream: 'test_validate_iat_structure: a warning, \'Missing RECOMMENDED claim "SIGNER_ID" from SW_COMPONENTS\'',
        fails: [], warns: ['softwareComponents'], details: { softwareComponents: ['component 1 has no signer ID', 'component 3 has no signer ID'] },
      },
      {
        file: 'unexpected-claim.yaml', upstream: 'attest_token_verifier.py: an unexpected component claim is a warning ("Unexpected ... claim: ..., skipping.") unless VERIFIER_STRICT',
        fails: [], warns: ['softwareComponents'], details: { softwareComponents: ['component 0 has a key no profile defines (3)'] },
      },
      { file: 'invalid-profile-id.yaml', upstream: 'test_validate_iat_structure: "Invalid PROFILE_ID" (42, not a str)', fails: ['profile:ATTEST_PROFILE_UNSUPPORTED'], details: { profile: ['not a text string'] } },
      { file: 'missing-claim.yaml', upstream: 'test_validate_iat_structure: "missing MANDATORY claim" (INSTANCE_ID)', fails: ['instanceId:ATTEST_CLAIM_MISSING'] },
      {
        file: 'submod-missing-claim.yaml', upstream: 'test_validate_iat_structure: "missing MANDATORY claim" (MEASUREMENT_VALUE in component 0)',
        fails: ['softwareComponents:ATTEST_SW_COMPONENTS_INVALID'], details: { softwareComponents: ['component 0 has no measurement value'] },
      },
      { file: 'missing-sw-comps.yaml', upstream: 'test_validate_iat_structure: "NO_MEASUREMENTS claim is not present"', fails: ['softwareComponents:ATTEST_SW_COMPONENTS_INVALID'], details: { softwareComponents: ['no NO_SW_MEASUREMENTS claim'] } },
      {
        file: 'invalid-type-length.yaml',
        upstream: 'test_validate_iat_structure (keep going): "Invalid PROFILE_ID: must be a(n) <class \'str\'>", "Invalid SIGNER_ID: must be a(n) <class \'bytes\'>" and its length 12 (component 0), "Invalid MEASUREMENT length: ... found 28 bytes" (component 2)',
        fails: ['profile:ATTEST_PROFILE_UNSUPPORTED', 'softwareComponents:ATTEST_SW_COMPONENTS_INVALID'],
        details: { profile: ['not a text string'], softwareComponents: ['component 0: the signer ID is a string', 'component 2: the measurement value is 28 bytes'] },
      },
      {
        file: 'invalid-hw-version.yaml', upstream: 'test_validate_iat_structure (keep going): "Invalid HARDWARE_VERSION length; must be 19 characters, found 10 characters", and invalid characters',
        fails: ['certificationReference:ATTEST_CLAIM_INVALID'], details: { certificationReference: ['(10 characters)', '19 characters'] },
      },
    ];

    it.each(yamls.map((y) => [`${y.file}${y.signWith ? ` signed with ${y.signWith}` : ''}`, y] as const))('%s', async (_name, y) => {
      const claims = compileIatYaml(tfm(y.file).toString('utf8'), 'psa-iot-1');
      const r = await verifyAttestationToken(signClaims(claims, y.signWith === 'key-alt.pem' ? keyAlt : key), { lookup, nonce, profile });
      expect({ file: y.file, upstream: y.upstream, fails: failed(r) }).toEqual({ file: y.file, upstream: y.upstream, fails: y.fails });
      expect(r.checks.filter((c) => c.status === 'warn').map((c) => c.name)).toEqual(y.warns ?? []);
      for (const [name, texts] of Object.entries(y.details ?? {}) as [CheckName, string[]][]) {
        const detail = r.checks.find((c) => c.name === name)!.detail;
        for (const text of texts) expect(detail).toContain(text);
      }
    });

    it('iat.yaml, compiled here, is the claims set of iat.cbor as iat-verifier compiled it (the YAML compiler agrees with upstream)', () => {
      const ours = compileIatYaml(tfm('iat.yaml').toString('utf8'), 'psa-iot-1');
      const theirs = decoder.decode(decodeCoseSign1(tfm('iat.cbor')).payload) as Map<number, unknown>;
      expect(new Map([...ours].sort(([a], [b]) => a - b))).toEqual(new Map([...theirs].sort(([a], [b]) => a - b)));
    });

    it('psa-2_0_0_token.yaml, compiled with PSA 2.0.0 keys, is the claims set of psa-2_0_0_sign1-token.cbor but for the measurement descriptions', () => {
      const ours = compileIatYaml(tfm('psa-2_0_0_token.yaml').toString('utf8'), 'psa-2.0.0');
      const theirs = decoder.decode(decodeCoseSign1(tfm('psa-2_0_0_sign1-token.cbor')).payload) as Map<number, unknown>;
      const descriptions = (claims: Map<number, unknown>): unknown[] => (claims.get(2399) as Map<number, unknown>[]).map((c) => c.get(6));
      // The YAML says "sha-256" where the token says "SHA256"; every other claim is the same.
      expect([descriptions(ours), descriptions(theirs)]).toEqual([['sha-256', 'sha-256'], ['SHA256', 'SHA256']]);
      for (const c of theirs.get(2399) as Map<number, unknown>[]) c.set(6, 'sha-256');
      expect(new Map([...ours].sort(([a], [b]) => a - b))).toEqual(new Map([...theirs].sort(([a], [b]) => a - b)));
    });

    it('psa-2_0_0_token.yaml signed with TF-M\'s dummy IAK verifies under "http://arm.com/psa/2.0.0", its instance ID re-derived from the key', async () => {
      const claims = compileIatYaml(tfm('psa-2_0_0_token.yaml').toString('utf8'), 'psa-2.0.0');
      const r = await verifyAttestationToken(signClaims(claims, dummy.privateKey), { lookup: dummyLookup, nonce: Buffer.alloc(64) });
      expect(failed(r)).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.profile).toBe('http://arm.com/psa/2.0.0');
      expect(statusOf(r, 'instanceIdKey')).toBe('pass');
      expect(r.claims.verificationService).toBe('www.trustedfirmware.org');
    });

    it('every file of iat-verifier/tests/data has its outcome here, or is named as not a PSA token to check', () => {
      const covered = new Set([...tokens.map((t) => t.file), ...yamls.map((y) => y.file), 'psa-2_0_0_token.yaml']);
      const notTokens = new Set(['key.pem', 'key-alt.pem', 'hmac.key', 'license.rst', 'ORIGIN.txt', 'mk_tokens.sh', 'cca_platform.pem', 'cca_realm.pem', 'cca_realm2.pem']);
      // Arm CCA claim sets (test_validate_iat_structure and test_profiles compile them for CCATokenVerifier).
      const ccaClaimSets = new Set(['valid-cca-token.yaml', 'cca_platform_token.yaml', 'cca-invalid-plat-challenge.yaml', 'cca_example_platform_token.yaml', 'cca_example_platform_token_legacy.yaml', 'cca_example_token.yaml', 'cca_example_token_legacy.yaml']);
      const left = readdirSync(join(dir, 'tf-m-tools')).filter((f) => !covered.has(f) && !notTokens.has(f) && !ccaClaimSets.has(f));
      expect(left).toEqual([]);
    });

    it('a CCA token is refused before any claim is trusted: tag 907 is not COSE_Sign1', async () => {
      const r = await verifyAttestationToken(tfm('cca_token.cbor'), { lookup });
      expect(r.checks[0]!.detail).toContain('CBOR tag 907');
      expect(decoder.decode(tfm('cca_token.cbor'))).toBeInstanceOf(Tag);
    });
  });
}
