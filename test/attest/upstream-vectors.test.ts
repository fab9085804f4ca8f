/**
 * Tokens nobody here wrote: RFC 9783 Appendix A and TF-M's iat-verifier test data
 * (TrustedFirmware-M/tf-m-tools iat-verifier/tests/data, BSD-3-Clause). Each verifies with its key,
 * or fails for the reason iat-verifier's tests give (iat-verifier/tests/test_verifier.py).
 *
 * The vectors are not in the repository (fetched material is not committed here):
 * test/fixtures/attestation/README.md says where they come from and where to put them. Without them
 * this file reports one skipped block, never a pass.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { verifyAttestationToken, staticLookup, type AttestationResult } from '../../lib/attest';
import { compileIatYaml } from './iat-yaml';
import { UPSTREAM_FILES, signClaims, uncompressedOf, upstreamVectorsDir } from './support';

const found = upstreamVectorsDir();
if (found === undefined) {
  // Say it where a run's output shows it: these checks did not run.
  // eslint-disable-next-line no-console
  console.warn('test/attest/upstream-vectors: upstream vectors not found (see test/fixtures/attestation/README.md); skipped');
  describe.skip('upstream attestation vectors (not present)', () => {
    it('RFC 9783 Appendix A and tf-m-tools iat-verifier/tests/data', () => undefined);
  });
} else {
  defineSuites(found);
}

function defineSuites(dir: string): void {


  const tfm = (name: string): Buffer => readFileSync(join(dir, 'tf-m-tools', name));
  const rfc = (name: string): string => readFileSync(join(dir, 'rfc9783', name), 'utf8');
  const hexFile = (name: string): Buffer => Buffer.from(rfc(name).replace(/[^0-9a-fA-F]/g, ''), 'hex');
  const failed = (r: AttestationResult): string[] => r.checks.filter((c) => c.status === 'fail').map((c) => `${c.name}:${c.code}`);

  describe('the upstream vectors', () => {
    it.each(UPSTREAM_FILES)('%s is the file taken from its origin (SHA-256)', (name, sha256) => {
      expect(createHash('sha256').update(readFileSync(join(dir, name))).digest('hex')).toBe(sha256);
    });
  });

  describe('RFC 9783 Appendix A example tokens', () => {
    // The IAK of the example, a JWK (Appendix A.1); the verifier gets only its public half.
    const jwk = JSON.parse(rfc('tfm-es-iak.json')) as { x: string; y: string; crv: string; kty: string };
    const iak = uncompressedOf(createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' }));
    // The example's claims (sign1-claims.diag): ueid 01 02.., implementation ID 32 zero bytes, nonce 01...
    const instanceId = `01${'02'.repeat(32)}`;
    const lookup = staticLookup([{ instanceId, identityPublicKey: iak, implementationId: '00'.repeat(32) }], 'RFC 9783 appendix');

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
        bootSeed: '00'.repeat(8),
        softwareComponents: [{ measurementType: 'PRoT', measurementValue: '03'.repeat(32), signerId: '04'.repeat(32) }],
      });
      // The example has no instance-ID formula to re-derive (its ueid is not a hash of the IAK).
      expect(r.checks.find((c) => c.name === 'instanceIdKey')?.status).toBe('skipped');
    });

    it('the same token with another nonce fails ATTEST_NONCE_MISMATCH', async () => {
      const r = await verifyAttestationToken(hexFile('psa-sign1.hex'), { lookup, nonce: '02'.repeat(32) });
      expect(r.errorCodes).toEqual(['ATTEST_NONCE_MISMATCH']);
    });

    it('the COSE_Mac0 example (tag 17) is refused as ATTEST_TAG_UNSUPPORTED', async () => {
      const r = await verifyAttestationToken(hexFile('psa-mac0.hex'), { lookup });
      expect(r.errorCodes).toEqual(['ATTEST_TAG_UNSUPPORTED']);
    });
  });

  describe('tf-m-tools iat-verifier test data (PSA IoT Profile 1)', () => {
    const key = createPrivateKey(tfm('key.pem'));
    const publicKey = uncompressedOf(createPublicKey(key));
    const altPublic = uncompressedOf(createPublicKey(createPrivateKey(tfm('key-alt.pem'))));
    // The YAML claim sets share these values (valid-iat.yaml); their instance ID is not derived from key.pem.
    const instanceId = `01${'07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918'}`;
    const implementationId = '07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918';
    const nonce = implementationId;
    const lookup = staticLookup([{ instanceId, identityPublicKey: publicKey, implementationId }], 'iat-verifier key.pem');
    const lookupAlt = staticLookup([{ instanceId, identityPublicKey: altPublic, implementationId }], 'iat-verifier key-alt.pem');
    // Their eat_profile is an example URL, as in iat-verifier's tests; the verifier is told to expect it.
    const profile = 'http://example.com';
    const fromYaml = (name: string): Buffer => signClaims(compileIatYaml(tfm(name).toString('utf8'), 'psa-iot-1'), key);

    it('iat.cbor (signed by iat-verifier with key.pem) verifies with key.pem', async () => {
      const r = await verifyAttestationToken(tfm('iat.cbor'), { lookup, nonce, profile });
      expect(failed(r)).toEqual([]);
      expect(r.claimKeys).toBe('psa-iot-1');
      expect(r.claims.securityLifecycleName).toBe('secured-0x3000');
      expect((r.claims.softwareComponents as unknown[]).length).toBe(4);
    });

    it('iat.cbor with key-alt.pem is ATTEST_SIGNATURE_INVALID ("Bad signature" in test_validate_signature)', async () => {
      const r = await verifyAttestationToken(tfm('iat.cbor'), { lookup: lookupAlt, nonce, profile });
      expect(r.errorCodes).toEqual(['ATTEST_SIGNATURE_INVALID']);
    });

    it('iat.cbor without a profile to expect is ATTEST_PROFILE_UNSUPPORTED: its profile is an example URL, not PSA_IOT_PROFILE_1', async () => {
      const r = await verifyAttestationToken(tfm('iat.cbor'), { lookup, nonce });
      expect(r.errorCodes).toEqual(['ATTEST_PROFILE_UNSUPPORTED']);
    });

    it('malformed.cbor is ATTEST_MALFORMED ("Bad COSE")', async () => {
      const r = await verifyAttestationToken(tfm('malformed.cbor'), { lookup, nonce, profile });
      expect(r.errorCodes).toEqual(['ATTEST_MALFORMED']);
    });

    it('psa-2_0_0_sign1-token.cbor (an empty protected header, from before iat-verifier made it mandatory) is ATTEST_ALGORITHM_UNSUPPORTED', async () => {
      const r = await verifyAttestationToken(tfm('psa-2_0_0_sign1-token.cbor'), { lookup });
      expect(r.checks.find((c) => c.name === 'algorithm')?.code).toBe('ATTEST_ALGORITHM_UNSUPPORTED');
      // Its claims still decode, PSA 2.0.0 keys with the boot seed at 2397.
      expect(r.profile).toBe('http://arm.com/psa/2.0.0');
      expect(r.claims.bootSeed).toBe(Buffer.from(Array.from({ length: 32 }, (_, i) => 0xa0 + i)).toString('hex'));
    });

    const yamlCases: Array<[string, string[]]> = [
      ['valid-iat.yaml', []],
      ['iat.yaml', []],
      // "Missing RECOMMENDED claim SIGNER_ID": a warning, not a failure.
      ['missing-signer-id.yaml', []],
      // An unknown key inside a component: a receiver must not fail on claims it does not know.
      ['unexpected-claim.yaml', []],
      // "Invalid PROFILE_ID"
      ['invalid-profile-id.yaml', ['profile:ATTEST_PROFILE_UNSUPPORTED']],
      // "missing MANDATORY claim" (the instance ID)
      ['missing-claim.yaml', ['instanceId:ATTEST_CLAIM_MISSING']],
      // "missing MANDATORY claim" inside a software component (a measurement value)
      ['submod-missing-claim.yaml', ['softwareComponents:ATTEST_SW_COMPONENTS_INVALID']],
      // "NO_MEASUREMENTS claim is not present"
      ['missing-sw-comps.yaml', ['softwareComponents:ATTEST_SW_COMPONENTS_INVALID']],
      // "Invalid PROFILE_ID: must be str", "Invalid SIGNER_ID: must be bytes", "... length", "Invalid MEASUREMENT length"
      ['invalid-type-length.yaml', ['profile:ATTEST_PROFILE_UNSUPPORTED', 'softwareComponents:ATTEST_SW_COMPONENTS_INVALID']],
      // "Invalid HARDWARE_VERSION length; must be 19 characters" and invalid characters
      ['invalid-hw-version.yaml', ['certificationReference:ATTEST_CLAIM_INVALID']],
    ];
    it.each(yamlCases)('%s, compiled and signed with key.pem, fails exactly %j', async (name, expected) => {
      const r = await verifyAttestationToken(fromYaml(name), { lookup, nonce, profile });
      expect(failed(r)).toEqual(expected);
    });

    it('invalid-type-length.yaml names each bad component field', async () => {
      const r = await verifyAttestationToken(fromYaml('invalid-type-length.yaml'), { lookup, nonce, profile });
      const detail = r.checks.find((c) => c.name === 'softwareComponents')!.detail;
      expect(detail).toContain('component 0: the signer ID is a string');
      expect(detail).toContain('component 2: the measurement value is 28 bytes');
    });

    it('psa-2_0_0_token.yaml (PSA 2.0.0 keys, boot seed 2397) verifies under "http://arm.com/psa/2.0.0"', async () => {
      const claims = compileIatYaml(tfm('psa-2_0_0_token.yaml').toString('utf8'), 'psa-2.0.0');
      const id = Buffer.from(claims.get(256) as Buffer).toString('hex');
      const lookup2 = staticLookup([{ instanceId: id, identityPublicKey: publicKey, implementationId: Buffer.from(claims.get(2396) as Buffer).toString('hex') }]);
      const r = await verifyAttestationToken(signClaims(claims, key), { lookup: lookup2, nonce: Buffer.alloc(64) });
      expect(failed(r)).toEqual([]);
      expect(r.profile).toBe('http://arm.com/psa/2.0.0');
      expect(r.claims.certificationReference).toBe('0604565272829-10010');
    });
  });
}
