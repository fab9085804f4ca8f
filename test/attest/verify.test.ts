/**
 * verifyAttestationToken on tokens made here from one claim set and one fresh P-256 key, each
 * corrupted in one way: every variant must fail with its own code, and the untouched token must pass.
 */
import { createPublicKey, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { Tag } from 'cbor-x';
import {
  PROFILE_PSA_IOT_1,
  decodeCoseSign1,
  derSignatureToRaw,
  instanceIdUnder,
  rawSignatureToDer,
  staticLookup,
  verifyAttestationToken,
  type AttestationLookup,
} from '../../lib/attest';
import { cbor, newKeyPair, rfc9783Claims, signClaims, uncompressedOf } from './support';

const { privateKey, publicKey } = newKeyPair();
const identity = uncompressedOf(publicKey);
const instanceId = Buffer.from(instanceIdUnder(identity, '2.2'), 'hex');
const nonce = Buffer.alloc(32, 0x5a);
const implementationId = Buffer.alloc(32, 0x11);
const lookup: AttestationLookup = staticLookup([{ identityPublicKey: identity, instanceIdFormula: '2.2', implementationId: implementationId.toString('hex'), deviceId: 'DEV1' }], 'test records');
const claims = () => rfc9783Claims({ instanceId, nonce, implementationId });
/** A PSA IoT Profile 1 claims set (keys -75000..) as TF-M builds it by default. */
const iot1Claims = (): Map<number, unknown> =>
  new Map<number, unknown>([
      [-75000, PROFILE_PSA_IOT_1],
      [-75001, -1],
      [-75002, 0x3000],
      [-75003, implementationId],
      [-75004, Buffer.alloc(32, 0x44)],
      [-75006, [new Map<number, unknown>([[1, 'SPE'], [2, Buffer.alloc(32, 0x22)], [5, Buffer.alloc(32, 0x33)]])]],
      [-75008, nonce],
      [-75009, instanceId],
  ]);
const good = signClaims(claims(), privateKey);
const verify = (token: Uint8Array, over: { nonce?: Buffer | string; lookup?: AttestationLookup; profile?: string } = {}) =>
  verifyAttestationToken(token, { lookup: over.lookup ?? lookup, nonce: 'nonce' in over ? over.nonce : nonce, profile: over.profile });

/** Offset of `needle` inside `haystack`, which must occur once. */
function offsetOf(haystack: Buffer, needle: Buffer): number {
  const at = haystack.indexOf(needle);
  expect(at).toBeGreaterThanOrEqual(0);
  expect(haystack.indexOf(needle, at + 1)).toBe(-1);
  return at;
}

function flipBit(token: Buffer, offset: number, bit = 0): Buffer {
  const copy = Buffer.from(token);
  copy[offset]! ^= 1 << bit;
  return copy;
}

describe('an intact token', () => {
  it('verifies, with every check passed and every claim decoded', async () => {
    const r = await verify(good);
    expect(r.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.errorCodes).toEqual([]);
    expect(r.device).toEqual({ deviceId: 'DEV1', chip: undefined, source: 'test records', instanceIdFormula: '2.2' });
    expect(r.claims).toMatchObject({
      nonce: nonce.toString('hex'),
      instanceId: instanceId.toString('hex'),
      profile: 'tag:psacertified.org,2023:psa#tfm',
      clientId: -1,
      securityLifecycle: 0x3000,
      implementationId: implementationId.toString('hex'),
      bootSeed: '44'.repeat(32),
      softwareComponents: [{ measurementType: 'SPE', measurementValue: '22'.repeat(32), version: '2.2.0', signerId: '33'.repeat(32) }],
      other: [],
    });
  });

  it('verifies untagged as well as tagged (RFC 9052: the tag is optional where the type is known)', async () => {
    const untagged = signClaims(claims(), privateKey, { tagged: false });
    expect(untagged[0]).toBe(0x84);
    expect(good.subarray(0, 2)).toEqual(Buffer.from([0xd2, 0x84]));
    const r = await verify(untagged);
    expect(r.ok).toBe(true);
    expect(r.tagged).toBe(false);
  });

  it('reports a nonce it was not given as skipped, not passed, and still verifies', async () => {
    const r = await verify(good, { nonce: undefined });
    expect(r.ok).toBe(true);
    expect(r.checks.find((c) => c.name === 'nonce')).toMatchObject({ status: 'skipped' });
  });

  it('keeps claims it does not know in `other` without failing (claims not understood are ignored: RFC 7519 section 4, as CWT follows it)', async () => {
    const c = claims();
    c.set(-70000, 'vendor');
    const r = await verify(signClaims(c, privateKey));
    expect(r.ok).toBe(true);
    expect(r.claims.other).toEqual([{ key: '-70000', value: 'vendor' }]);
  });
});

describe('each corruption fails with its code', () => {
  it('one bit flipped in the signature: ATTEST_SIGNATURE_INVALID', async () => {
    const cose = decodeCoseSign1(good);
    const r = await verify(flipBit(good, offsetOf(good, Buffer.from(cose.signature)) + 10, 3));
    expect(r.errorCodes).toEqual(['ATTEST_SIGNATURE_INVALID']);
  });

  it('one bit flipped in a claim (the boot seed): ATTEST_SIGNATURE_INVALID', async () => {
    const r = await verify(flipBit(good, offsetOf(good, Buffer.alloc(32, 0x44)) + 5, 0));
    expect(r.errorCodes).toEqual(['ATTEST_SIGNATURE_INVALID']);
    expect(r.claims.bootSeed).not.toBe('44'.repeat(32));
  });

  it('one bit flipped in a claim the record is compared with (the implementation ID): the signature and the comparison fail', async () => {
    const r = await verify(flipBit(good, offsetOf(good, implementationId) + 31, 7));
    expect(r.errorCodes).toEqual(['ATTEST_SIGNATURE_INVALID', 'ATTEST_IMPLEMENTATION_ID_MISMATCH']);
  });

  it('one bit flipped in the protected header (alg -7 -> -8): ATTEST_ALGORITHM_UNSUPPORTED, the signature not trusted', async () => {
    // The protected header a1 01 26 follows the tag and array header: d2 84 43 | a1 01 26.
    expect(good.subarray(2, 6)).toEqual(Buffer.from([0x43, 0xa1, 0x01, 0x26]));
    const r = await verify(flipBit(good, 5, 0));
    expect(r.errorCodes).toEqual(['ATTEST_ALGORITHM_UNSUPPORTED']);
    expect(r.checks.find((c) => c.name === 'signature')?.status).toBe('skipped');
  });

  it('a protected header changed after signing, still ES256 (a kid added): ATTEST_SIGNATURE_INVALID', async () => {
    const cose = decodeCoseSign1(good);
    const forged = cbor(new Tag([cbor(new Map<number, unknown>([[1, -7], [4, Buffer.from('kid')]])), new Map(), Buffer.from(cose.payload), Buffer.from(cose.signature)], 18));
    const r = await verify(forged);
    expect(r.errorCodes).toEqual(['ATTEST_SIGNATURE_INVALID']);
  });

  it('the wrong key registered for the instance ID: ATTEST_SIGNATURE_INVALID and ATTEST_INSTANCE_ID_MISMATCH', async () => {
    const other = uncompressedOf(newKeyPair().publicKey);
    const wrong = staticLookup([{ instanceId: instanceId.toString('hex'), identityPublicKey: other, implementationId: implementationId.toString('hex') }]);
    const r = await verify(good, { lookup: wrong });
    expect(r.errorCodes).toEqual(['ATTEST_SIGNATURE_INVALID']);
    // Registered with a formula, the same wrong key is also caught by the instance ID it gives.
    const wrongFormula: AttestationLookup = () => ({ identityPublicKey: other, instanceIdFormula: '2.2', implementationId: implementationId.toString('hex'), source: 'x' });
    expect((await verify(good, { lookup: wrongFormula })).errorCodes).toEqual(['ATTEST_SIGNATURE_INVALID', 'ATTEST_INSTANCE_ID_MISMATCH']);
  });

  it('the right key registered under the other formula: ATTEST_INSTANCE_ID_MISMATCH (a TF-M 2.1 record for a TF-M 2.2 device)', async () => {
    const legacy: AttestationLookup = () => ({ identityPublicKey: identity, instanceIdFormula: '2.1', implementationId: implementationId.toString('hex'), source: 'x' });
    expect((await verify(good, { lookup: legacy })).errorCodes).toEqual(['ATTEST_INSTANCE_ID_MISMATCH']);
  });

  it('an expected nonce no token can carry (not 32, 48 or 64 bytes) is the caller\'s INVALID_PARAMETER', async () => {
    for (const n of [Buffer.alloc(33, 0x5a), Buffer.alloc(16, 0x5a), 'ab'.repeat(65)]) {
      await expect(verify(good, { nonce: n })).rejects.toMatchObject({ code: 'INVALID_PARAMETER' });
    }
  });

  it('the wrong nonce: ATTEST_NONCE_MISMATCH', async () => {
    expect((await verify(good, { nonce: Buffer.alloc(32, 0x5b) })).errorCodes).toEqual(['ATTEST_NONCE_MISMATCH']);
    expect((await verify(good, { nonce: 'ab'.repeat(48) })).errorCodes).toEqual(['ATTEST_NONCE_MISMATCH']);
  });

  it.each([
    [0x0000, 'unknown'],
    [0x1000, 'assembly-and-test'],
    [0x2000, 'psa-rot-provisioning'],
    [0x4000, 'non-psa-rot-debug'],
    [0x5000, 'recoverable-psa-rot-debug'],
    [0x6000, 'decommissioned'],
    [0x3100, 'invalid'],
  ])('a lifecycle that is not SECURED (0x%s): ATTEST_LIFECYCLE_NOT_SECURED', async (lifecycle, name) => {
    const r = await verify(signClaims(rfc9783Claims({ instanceId, nonce, implementationId, lifecycle }), privateKey));
    expect(r.errorCodes).toEqual(['ATTEST_LIFECYCLE_NOT_SECURED']);
    expect(r.claims.securityLifecycleName).toContain(name);
  });

  it('the SECURED range includes implementation-defined minor states (0x30ff)', async () => {
    expect((await verify(signClaims(rfc9783Claims({ instanceId, nonce, implementationId, lifecycle: 0x30ff }), privateKey))).ok).toBe(true);
  });

  it('an instance ID that is not registered: ATTEST_UNKNOWN_INSTANCE, signature not checked', async () => {
    const stranger = Buffer.concat([Buffer.from([1]), Buffer.alloc(32, 0x99)]);
    const r = await verify(signClaims(rfc9783Claims({ instanceId: stranger, nonce, implementationId }), privateKey));
    expect(r.errorCodes).toEqual(['ATTEST_UNKNOWN_INSTANCE']);
    expect(r.checks.find((c) => c.name === 'signature')?.status).toBe('skipped');
    expect(r.checks.find((c) => c.name === 'implementationId')?.status).toBe('skipped');
  });

  it('truncated CBOR, at every length: ATTEST_MALFORMED', async () => {
    for (let length = 0; length < good.length; length++) {
      const r = await verify(good.subarray(0, length));
      expect([length, r.errorCodes]).toEqual([length, ['ATTEST_MALFORMED']]);
    }
  });

  it('trailing bytes after the token: ATTEST_MALFORMED', async () => {
    for (const tail of [Buffer.from([0]), Buffer.from([0xf6]), good]) {
      expect((await verify(Buffer.concat([good, tail]))).errorCodes).toEqual(['ATTEST_MALFORMED']);
    }
  });

  it.each([
    [17, 'COSE_Mac0'],
    [61, 'CWT'],
    [98, 'COSE_Sign'],
    [16, 'COSE_Encrypt0'],
  ])('a wrong tag (%i, %s): ATTEST_TAG_UNSUPPORTED', async (tag) => {
    const cose = decodeCoseSign1(good);
    const retagged = cbor(new Tag([Buffer.from(cose.protectedBytes), new Map(), Buffer.from(cose.payload), Buffer.from(cose.signature)], tag));
    const r = await verify(retagged);
    expect(r.errorCodes).toEqual(['ATTEST_TAG_UNSUPPORTED']);
  });

  it('20000 nested arrays (a decoder-recursion attack): ATTEST_MALFORMED, no crash', async () => {
    const nested = Buffer.concat([Buffer.alloc(20000, 0x81), Buffer.from([0x00])]);
    expect((await verify(nested)).errorCodes).toEqual(['ATTEST_MALFORMED']);
  });

  it('not a COSE_Sign1 structure (a map, a 3-element array, a text payload): ATTEST_MALFORMED', async () => {
    for (const value of [new Map([[1, 2]]), [Buffer.alloc(0), new Map(), Buffer.alloc(1)], [Buffer.alloc(0), new Map(), 'payload', Buffer.alloc(64)]]) {
      expect((await verify(cbor(value))).errorCodes).toEqual(['ATTEST_MALFORMED']);
    }
  });
});

describe('claims checked against the profile', () => {
  const withClaims = (edit: (c: Map<number, unknown>) => void) => {
    const c = claims();
    edit(c);
    return signClaims(c, privateKey);
  };

  it('no boot seed: ATTEST_BOOT_SEED_MISSING', async () => {
    expect((await verify(withClaims((c) => c.delete(268)))).errorCodes).toEqual(['ATTEST_BOOT_SEED_MISSING']);
  });

  it('an implementation ID other than the record\'s: ATTEST_IMPLEMENTATION_ID_MISMATCH', async () => {
    expect((await verify(withClaims((c) => c.set(2396, Buffer.alloc(32, 0x12))))).errorCodes).toEqual(['ATTEST_IMPLEMENTATION_ID_MISMATCH']);
  });

  it('a record without an implementation ID cannot vouch for one: ATTEST_IMPLEMENTATION_ID_MISMATCH', async () => {
    const bare = staticLookup([{ identityPublicKey: identity, instanceIdFormula: '2.2' }]);
    expect((await verify(good, { lookup: bare })).errorCodes).toEqual(['ATTEST_IMPLEMENTATION_ID_MISMATCH']);
  });

  it.each([
    ['an empty component list', (c: Map<number, unknown>) => c.set(2399, [])],
    ['no component list', (c: Map<number, unknown>) => c.delete(2399)],
    ['a component without a measurement value', (c: Map<number, unknown>) => c.set(2399, [new Map([[5, Buffer.alloc(32)]])])],
    ['a component without the signer ID RFC 9783 requires', (c: Map<number, unknown>) => c.set(2399, [new Map([[2, Buffer.alloc(32)]])])],
    ['a 20-byte measurement', (c: Map<number, unknown>) => c.set(2399, [new Map([[2, Buffer.alloc(20)], [5, Buffer.alloc(32)]])])],
    ['a component that is not a map', (c: Map<number, unknown>) => c.set(2399, ['SPE'])],
    ['a numeric version', (c: Map<number, unknown>) => c.set(2399, [new Map<number, unknown>([[2, Buffer.alloc(32)], [5, Buffer.alloc(32)], [4, 2]])])],
  ])('%s: ATTEST_SW_COMPONENTS_INVALID', async (_name, edit) => {
    expect((await verify(withClaims(edit))).errorCodes).toEqual(['ATTEST_SW_COMPONENTS_INVALID']);
  });

  it('a nonce of a length TF-M never sends (31 bytes): ATTEST_CLAIM_INVALID', async () => {
    expect((await verify(withClaims((c) => c.set(10, Buffer.alloc(31))), { nonce: undefined })).errorCodes).toEqual(['ATTEST_CLAIM_INVALID']);
  });

  it('an instance ID that is not 0x01 and 32 bytes: ATTEST_CLAIM_INVALID', async () => {
    const r = await verify(withClaims((c) => c.set(256, Buffer.concat([Buffer.from([2]), instanceId.subarray(1)]))));
    expect(r.errorCodes).toEqual(['ATTEST_CLAIM_INVALID']);
  });

  it('a client ID of 0: ATTEST_CLAIM_INVALID', async () => {
    expect((await verify(withClaims((c) => c.set(2394, 0)))).errorCodes).toEqual(['ATTEST_CLAIM_INVALID']);
  });

  it('an unknown profile: ATTEST_PROFILE_UNSUPPORTED, unless the verifier names it', async () => {
    const token = withClaims((c) => c.set(265, 'tag:example.com,2025:other'));
    expect((await verify(token)).errorCodes).toEqual(['ATTEST_PROFILE_UNSUPPORTED']);
    expect((await verify(token, { profile: 'tag:example.com,2025:other' })).ok).toBe(true);
    expect((await verify(good, { profile: 'tag:example.com,2025:other' })).errorCodes).toEqual(['ATTEST_PROFILE_UNSUPPORTED']);
  });

  it('a Profile 1 name on RFC 9783 claim keys: ATTEST_PROFILE_UNSUPPORTED', async () => {
    expect((await verify(withClaims((c) => c.set(265, PROFILE_PSA_IOT_1)))).errorCodes).toEqual(['ATTEST_PROFILE_UNSUPPORTED']);
  });

  it('a PSA IoT Profile 1 token (keys -75000..) as TF-M builds it by default verifies', async () => {
    const iot = iot1Claims();
    const r = await verify(signClaims(iot, privateKey));
    expect(r.errorCodes).toEqual([]);
    expect(r.claimKeys).toBe('psa-iot-1');
    // Profile 1's NO_SW_MEASUREMENTS = 1 stands in for the list; RFC 9783 retired it.
    iot.delete(-75006);
    iot.set(-75007, 1);
    expect((await verify(signClaims(iot, privateKey))).errorCodes).toEqual([]);
  });

  describe('where iat-verifier and RFC 9783 set the rule (tf-m-tools iat-verifier/iatverifier, RFC 9783 CDDL)', () => {
    const iot1 = iot1Claims;

    it('a Profile 1 token without the profile claim (optional there) verifies with a warning, unless the verifier names a profile', async () => {
      const claimsSet = iot1();
      claimsSet.delete(-75000);
      const token = signClaims(claimsSet, privateKey);
      const r = await verify(token);
      expect(r.errorCodes).toEqual([]);
      expect(r.profile).toBe(PROFILE_PSA_IOT_1);
      expect(r.checks.find((c) => c.name === 'profile')).toMatchObject({ status: 'warn' });
      expect((await verify(token, { profile: PROFILE_PSA_IOT_1 })).errorCodes).toEqual(['ATTEST_PROFILE_UNSUPPORTED']);
    });

    it('an RFC 9783 token without the profile claim (mandatory there) fails ATTEST_PROFILE_UNSUPPORTED', async () => {
      expect((await verify(withClaims((c) => c.delete(265)))).errorCodes).toEqual(['ATTEST_PROFILE_UNSUPPORTED']);
    });

    it.each([
      ['EAN-13+5', '0604565272829-10010', []],
      ['EAN-13 alone', '0604565272829', ['ATTEST_CLAIM_INVALID']],
      ['a letter', '060456527282a-10010', ['ATTEST_CLAIM_INVALID']],
      ['the dash elsewhere', '060456527282-910010', ['ATTEST_CLAIM_INVALID']],
    ])('a certification reference that is %s: %j in both claim-key families', async (_name, value, codes) => {
      expect((await verify(withClaims((c) => c.set(2398, value)))).errorCodes).toEqual(codes);
      expect((await verify(signClaims(iot1().set(-75005, value), privateKey))).errorCodes).toEqual(codes);
    });

    it.each([
      [2147483647, []],
      [-2147483648, []],
      [2147483648, ['ATTEST_CLAIM_INVALID']],
      [-2147483649, ['ATTEST_CLAIM_INVALID']],
    ])('client ID %d: %j (psa-client-id-type is a 32-bit signed integer)', async (clientId, codes) => {
      expect((await verify(withClaims((c) => c.set(2394, clientId)))).errorCodes).toEqual(codes);
    });

    it('a component key no profile defines is a warning, not a failure (iat-verifier: "Unexpected ... claim ..., skipping.")', async () => {
      const r = await verify(withClaims((c) => c.set(2399, [new Map<number, unknown>([[1, 'SPE'], [2, Buffer.alloc(32, 0x22)], [5, Buffer.alloc(32, 0x33)], [3, 1]])])));
      expect(r.errorCodes).toEqual([]);
      expect(r.checks.find((c) => c.name === 'softwareComponents')).toMatchObject({ status: 'warn', detail: expect.stringContaining('component 0 has a key no profile defines (3)') });
    });
  });

  it('a payload with no PSA claim keys at all: ATTEST_PROFILE_UNSUPPORTED', async () => {
    expect((await verify(signClaims(new Map([[1, 'issuer']]), privateKey))).errorCodes).toEqual(['ATTEST_PROFILE_UNSUPPORTED']);
  });

  it('a nonce option that is not hex is a usage error, not a verdict', async () => {
    await expect(verify(good, { nonce: 'xyz' })).rejects.toMatchObject({ code: 'INVALID_PARAMETER' });
  });
});

describe('ECDSA signature encodings', () => {
  it('raw r||s to DER verifies with the DER encoding, and DER to raw with the IEEE P1363 one', () => {
    const data = Buffer.from('Signature1 stand-in');
    for (let i = 0; i < 64; i++) {
      const raw = cryptoSign('sha256', Buffer.concat([data, Buffer.from([i])]), { key: privateKey, dsaEncoding: 'ieee-p1363' });
      expect(cryptoVerify('sha256', Buffer.concat([data, Buffer.from([i])]), createPublicKey(privateKey), rawSignatureToDer(raw))).toBe(true);
      const der = cryptoSign('sha256', Buffer.concat([data, Buffer.from([i])]), privateKey);
      const back = derSignatureToRaw(der);
      expect(back.length).toBe(64);
      expect(cryptoVerify('sha256', Buffer.concat([data, Buffer.from([i])]), { key: publicKey, dsaEncoding: 'ieee-p1363' }, back)).toBe(true);
      expect(rawSignatureToDer(back)).toEqual(der);
    }
  });

  it('DER integers are minimal: a high bit gets a 0x00, leading zeros are dropped, and both come back padded', () => {
    const raw = Buffer.concat([Buffer.alloc(31), Buffer.from([1]), Buffer.from([0x80]), Buffer.alloc(31, 0xff)]);
    const der = rawSignatureToDer(raw);
    expect(der.toString('hex')).toBe(`3026020101022100${'80'}${'ff'.repeat(31)}`);
    expect(derSignatureToRaw(der)).toEqual(raw);
  });

  it('a DER signature with bytes after it, a non-minimal integer or a wrong tag is refused', () => {
    const der = rawSignatureToDer(Buffer.alloc(64, 0x11));
    expect(() => derSignatureToRaw(Buffer.concat([der, Buffer.from([0])]))).toThrow();
    expect(() => derSignatureToRaw(Buffer.from('3007020200010201 01'.replace(/ /g, ''), 'hex'))).toThrow();
    expect(() => derSignatureToRaw(Buffer.from([0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]))).toThrow();
  });
});
