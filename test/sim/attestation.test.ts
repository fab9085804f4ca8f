/**
 * The simulated TF-M's initial attestation token, checked with tools that are not the simulator's:
 * cbor-x's decoder for the CBOR, node:crypto for the ES256 signature over a Sig_structure built here
 * (RFC 9052 section 4.4), the claim keys of RFC 9783 (profile PSA_2_0_0) and of PSA IoT Profile 1
 * (TF-M's default), and lib/attest's verifier.
 */
import { createECDH, createPublicKey, verify } from 'node:crypto';
import { Decoder, Encoder, Tag } from 'cbor-x';
import { staticLookup, verifyAttestationToken } from '../../lib/attest';
import { createPresetDevice, requestAttestationToken, SimulatedDevice, syntheticImage } from '../../lib/testing';
import { DEVICE_ID } from './helpers';
import { instanceId21, instanceId22 } from '../support/instance-id';

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false });
const challenge = Buffer.from('a5'.repeat(32), 'hex');

function bootedWith(options: { tokenProfile?: 'PSA_IOT_1' | 'PSA_2_0_0'; tfmVersion?: string } = {}): { device: SimulatedDevice; publicKey: Buffer } {
  const device = createPresetDevice({ chip: 'nrf5340', preset: 'provisioned', deviceId: DEVICE_ID });
  const image = syntheticImage({ chip: 'nrf5340', kind: 'tfm', ...options });
  device.programFlash('application', image.address, image.data);
  const boot = device.bootTfm();
  expect(boot).toMatchObject({ ok: true, lifecycle: 'SECURED', tokenProfile: options.tokenProfile ?? 'PSA_IOT_1' });
  return { device, publicKey: Buffer.from(boot.identityPublicKey!, 'hex') };
}

function decodeSign1(token: Uint8Array): { protectedBytes: Buffer; unprotected: unknown; payload: Buffer; signature: Buffer } {
  const outer = decoder.decode(Buffer.from(token)) as Tag;
  expect(outer).toBeInstanceOf(Tag);
  expect(outer.tag).toBe(18); // COSE_Sign1
  const [protectedBytes, unprotected, payload, signature] = outer.value as [Buffer, unknown, Buffer, Buffer];
  return { protectedBytes: Buffer.from(protectedBytes), unprotected, payload: Buffer.from(payload), signature: Buffer.from(signature) };
}

function es256Verifies(publicKey: Buffer, protectedBytes: Buffer, payload: Buffer, signature: Buffer): boolean {
  const toBeSigned = encoder.encode(['Signature1', protectedBytes, Buffer.alloc(0), payload]);
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: publicKey.subarray(1, 33).toString('base64url'), y: publicKey.subarray(33).toString('base64url') }, format: 'jwk' });
  return verify('sha256', toBeSigned, { key, dsaEncoding: 'ieee-p1363' }, signature);
}

describe('the simulated TF-M answers an initial attestation request', () => {
  test('PSA_2_0_0: a COSE_Sign1 with ES256 and the RFC 9783 claim keys, signed by the identity key it unwrapped', () => {
    const { device, publicKey } = bootedWith({ tokenProfile: 'PSA_2_0_0' });
    const answer = requestAttestationToken(device, { challenge });
    expect(answer.ok).toBe(true);
    const { protectedBytes, unprotected, payload, signature } = decodeSign1(answer.token!);
    expect(decoder.decode(protectedBytes)).toEqual(new Map([[1, -7]])); // alg: ES256
    expect(unprotected).toEqual(new Map());
    expect(signature).toHaveLength(64);
    expect(es256Verifies(publicKey, protectedBytes, payload, signature)).toBe(true);

    const claims = decoder.decode(payload) as Map<number, unknown>;
    // RFC 9783 section 4 keys: nonce 10, ueid 256, eat_profile 265, bootseed 268, psa-client-id 2394,
    // psa-security-lifecycle 2395, psa-implementation-id 2396, psa-software-components 2399.
    expect([...claims.keys()]).toEqual([10, 268, 256, 2396, 2394, 2395, 2399, 265]);
    expect(Buffer.from(claims.get(10) as Buffer)).toEqual(challenge);
    expect(Buffer.from(claims.get(256) as Buffer).toString('hex')).toBe(instanceId22(publicKey)); // TF-M 2.2 formula
    expect(Buffer.from(claims.get(2396) as Buffer).toString('hex')).toBe(device.dump().implementationId);
    expect(claims.get(2395)).toBe(0x3000); // SECURED
    expect(claims.get(2394)).toBe(-1); // a non-secure caller
    expect(claims.get(268) as Buffer).toHaveLength(32);
    expect(claims.get(265)).toBe('http://arm.com/psa/2.0.0'); // sdk-nrf attest_hal.c's PSA_2_0_0 string
    const [component] = claims.get(2399) as Map<number, unknown>[];
    expect(component!.get(1)).toBe('SPE');
    expect(component!.get(2) as Buffer).toHaveLength(32);
  });

  test('PSA_IOT_1 (TF-M\'s default profile): the -75000 claim keys', () => {
    const { device, publicKey } = bootedWith();
    const answer = requestAttestationToken(device, { challenge });
    const { protectedBytes, payload, signature } = decodeSign1(answer.token!);
    expect(es256Verifies(publicKey, protectedBytes, payload, signature)).toBe(true);
    const claims = decoder.decode(payload) as Map<number, unknown>;
    expect([...claims.keys()]).toEqual([-75008, -75004, -75009, -75003, -75001, -75002, -75006, -75000]);
    expect(claims.get(-75000)).toBe('PSA_IOT_PROFILE_1');
  });

  test('a TF-M 2.1 image attests with the 2.1 instance ID; a second request in the same boot has the same boot seed and verifies with its own nonce', async () => {
    const { device, publicKey } = bootedWith({ tfmVersion: '2.1.2', tokenProfile: 'PSA_2_0_0' });
    const a = decoder.decode(decodeSign1(requestAttestationToken(device, { challenge }).token!).payload) as Map<number, unknown>;
    expect(Buffer.from(a.get(256) as Buffer).toString('hex')).toBe(instanceId21(publicKey));
    expect(a.has(2397)).toBe(true); // PSA_2_0_0's boot seed key before TF-M 2.2
    const second = requestAttestationToken(device, { challenge: Buffer.alloc(48, 1) });
    const b = decoder.decode(decodeSign1(second.token!).payload) as Map<number, unknown>;
    expect(b.get(2397)).toEqual(a.get(2397));
    const lookup = staticLookup([{ identityPublicKey: publicKey, instanceIdFormula: '2.1', implementationId: device.dump().implementationId }]);
    expect(await verifyAttestationToken(second.token!, { lookup, nonce: Buffer.alloc(48, 1) })).toMatchObject({ ok: true, errorCodes: [] });
  });

  test('lib/attest verifies the token against the registered key, formula, implementation ID and nonce', async () => {
    const { device, publicKey } = bootedWith({ tokenProfile: 'PSA_2_0_0' });
    const token = requestAttestationToken(device, { challenge }).token!;
    const lookup = staticLookup([{ identityPublicKey: publicKey, instanceIdFormula: '2.2', implementationId: device.dump().implementationId }]);
    expect(await verifyAttestationToken(token, { lookup, nonce: challenge })).toMatchObject({ ok: true });
    const wrongFormula = staticLookup([{ identityPublicKey: publicKey, instanceIdFormula: '2.1', implementationId: device.dump().implementationId }]);
    expect((await verifyAttestationToken(token, { lookup: wrongFormula, nonce: challenge })).errorCodes).toContain('ATTEST_UNKNOWN_INSTANCE');
  });

  test('refuses before TF-M runs, and a challenge of a size TF-M refuses', () => {
    const device = createPresetDevice({ chip: 'nrf9160', preset: 'provisioned', deviceId: DEVICE_ID });
    expect(requestAttestationToken(device, { challenge })).toMatchObject({ ok: false, errorCode: 'INVALID_OPERATION' });
    device.bootTfm();
    expect(requestAttestationToken(device, { challenge: Buffer.alloc(16) })).toMatchObject({ ok: false, errorCode: 'INVALID_PARAMETER' });
  });

  test('the dummy key (CONFIG_IDENTITY_KEY_DUMMY) attests with TF-M\'s well-known public key', () => {
    const device = SimulatedDevice.create({ chip: 'nrf9160', deviceId: DEVICE_ID });
    expect(device.runFirmwareModel('provisioning-image', { identityKeyDummy: true }).ok).toBe(true);
    expect(device.bootTfm()).toMatchObject({ ok: true, lifecycle: 'SECURED' });
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from('a9b454b26d6f90a4ea31193564cba91fec6f9a002a7dc0504b92a1937134585f', 'hex'));
    const { protectedBytes, payload, signature } = decodeSign1(requestAttestationToken(device, { challenge }).token!);
    expect(es256Verifies(ecdh.getPublicKey(), protectedBytes, payload, signature)).toBe(true);
  });
});
