/**
 * Interoperability with an independent COSE implementation: cose-js (its own CBOR library, `cbor`,
 * and its own ECDSA, `elliptic`), so neither cbor-x nor node:crypto is on both sides. Tokens it signs
 * must verify here; tokens the tests sign must verify there. This runs without the upstream vectors
 * (docs/attestation.md, "Upstream test vectors"), so every run checks against code nobody here wrote.
 */
import { Encoder } from 'cbor-x';
import { instanceIdUnder, staticLookup, verifyAttestationToken } from '../../lib/attest';
import { newKeyPair, rfc9783Claims, signClaims, uncompressedOf } from './support';

// cose-js has no types; the two calls used here.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const cose = require('cose-js') as {
  sign: {
    create(headers: { p: Record<string, unknown>; u: Record<string, unknown> }, payload: Buffer, signer: { key: { d: Buffer } }, options?: { excludetag?: boolean }): Promise<Buffer>;
    verify(message: Buffer, verifier: { key: { x: Buffer; y: Buffer } }): Promise<Buffer>;
  };
};

const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false });
const { privateKey, publicKey } = newKeyPair();
const jwk = privateKey.export({ format: 'jwk' });
const identity = uncompressedOf(publicKey);
const instanceId = Buffer.from(instanceIdUnder(identity, '2.1'), 'hex');
const nonce = Buffer.alloc(48, 0x6d);
const implementationId = Buffer.alloc(32, 0x11);
const lookup = staticLookup([{ identityPublicKey: identity, instanceIdFormula: '2.1', implementationId: implementationId.toString('hex') }]);
const payload = encoder.encode(rfc9783Claims({ instanceId, nonce, implementationId }));

describe('cose-js and this verifier agree', () => {
  it('a COSE_Sign1 that cose-js signs with ES256 (tagged) verifies here', async () => {
    const token = await cose.sign.create({ p: { alg: 'ES256' }, u: {} }, payload, { key: { d: Buffer.from(jwk.d!, 'base64url') } });
    expect(token[0]).toBe(0xd2);
    const r = await verifyAttestationToken(token, { lookup, nonce });
    expect(r.checks.filter((c) => c.status !== 'pass')).toEqual([]);
  });

  it('untagged from cose-js verifies too, and a cose-js token under another key does not', async () => {
    const token = await cose.sign.create({ p: { alg: 'ES256' }, u: {} }, payload, { key: { d: Buffer.from(jwk.d!, 'base64url') } }, { excludetag: true });
    expect((await verifyAttestationToken(token, { lookup, nonce })).ok).toBe(true);
    const other = newKeyPair().privateKey.export({ format: 'jwk' });
    const forged = await cose.sign.create({ p: { alg: 'ES256' }, u: {} }, payload, { key: { d: Buffer.from(other.d!, 'base64url') } });
    expect((await verifyAttestationToken(forged, { lookup, nonce })).errorCodes).toEqual(['ATTEST_SIGNATURE_INVALID']);
  });

  it('the tokens the tests sign (test/attest/support.ts) verify with cose-js', async () => {
    const token = signClaims(rfc9783Claims({ instanceId, nonce, implementationId }), privateKey);
    const verified = await cose.sign.verify(token, { key: { x: Buffer.from(identity.subarray(1, 33)), y: Buffer.from(identity.subarray(33)) } });
    expect(Buffer.from(verified)).toEqual(payload);
  });
});
