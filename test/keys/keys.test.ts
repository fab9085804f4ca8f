import { instanceId22 } from '../support/instance-id';
import { createPublicKey, createVerify, createSign, createPrivateKey, createHash } from 'node:crypto';
import { describePublicKey, generateHardwareUniqueKeys, generateIdentityPrivateKey, identityPublicKeyOf, isIdentityScalarInRange, isModelWrapper, modelIdentityKeyWrapper, slotValues, unwrapIdentityKeyModel } from '../../lib/keys';
import { cryptoRandom, randomSourceOrigin, seededRandom, trustedRandomSource, type RandomSource } from '../../lib/random';
import { nrf5340, nrf9160 } from '../../lib/targets';
import { oracleIsScalar, oraclePublicKey } from '../support/p256-oracle';

describe('hardware unique keys', () => {
  it('draws MKEK then MEXT from one block, 32 bytes each on nRF5340 and 16 on nRF91', () => {
    const block = seededRandom('huk').fill(new Uint8Array(64));
    const k = generateHardwareUniqueKeys(nrf5340, seededRandom('huk'));
    expect(Buffer.from(k.mkek)).toEqual(Buffer.from(block.subarray(0, 32)));
    expect(Buffer.from(k.mext)).toEqual(Buffer.from(block.subarray(32)));
    const n = generateHardwareUniqueKeys(nrf9160, seededRandom('huk'));
    expect([n.mkek.length, n.mext.length]).toEqual([16, 16]);
  });

  it('zeroes the block it drew from', () => {
    const drawn: Uint8Array[] = [];
    const spy: RandomSource = { kind: 'seeded', fill: (t) => (drawn.push(t), seededRandom(1).fill(t)) };
    generateHardwareUniqueKeys(nrf5340, spy);
    expect(drawn[0].every((b) => b === 0)).toBe(true);
  });

  it('splits a key into 16-byte slot values in slot order', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const [a, b] = slotValues(key, nrf5340.huk.mkek);
    expect(a[0]).toBe(0);
    expect(b[0]).toBe(16);
    expect(() => slotValues(key, nrf9160.huk.mkek)).toThrow(RangeError);
  });
});

describe('random sources', () => {
  it('are classified by identity: cryptoRandom, seededRandom, trustedRandomSource, anything else unknown', () => {
    const seeded = seededRandom(1);
    expect(randomSourceOrigin(cryptoRandom)).toBe('os');
    expect(randomSourceOrigin(seeded)).toBe('seeded');
    expect(randomSourceOrigin({ kind: 'csprng', fill: (t) => seeded.fill(t) })).toBe('unknown');
    expect(randomSourceOrigin({ ...cryptoRandom })).toBe('unknown');
    const trusted = trustedRandomSource({ kind: 'csprng', fill: (t) => cryptoRandom.fill(t) });
    expect(randomSourceOrigin(trusted)).toBe('trusted');
    expect(trusted.fill(new Uint8Array(8))).toHaveLength(8);
    expect(trustedRandomSource(cryptoRandom)).toBe(cryptoRandom);
    expect(() => trustedRandomSource(seeded)).toThrow(expect.objectContaining({ code: 'SEEDED_RANDOM_REFUSED' }));
    expect(Object.isFrozen(seeded) && Object.isFrozen(cryptoRandom)).toBe(true);
  });
});

describe('identity key', () => {
  it('rejects out-of-range scalars and redraws (0, and values >= n)', () => {
    const values = [new Uint8Array(32), new Uint8Array(32).fill(0xff), Uint8Array.from({ length: 32 }, (_, i) => i + 1)];
    let i = 0;
    const random: RandomSource = { kind: 'seeded', fill: (t) => (t.set(values[i++]), t) };
    const d = generateIdentityPrivateKey(random);
    expect(i).toBe(3);
    expect(d[0]).toBe(1);
  });

  it('checks 1 <= d < n on the bytes (no bigint), agreeing with a bigint comparison at the edges', () => {
    const n = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');
    const minus = (k: number): Uint8Array => {
      const out = Uint8Array.from(n);
      let i = 31;
      out[i] -= k; // k < 0x51: no borrow
      return out;
    };
    const edges = [new Uint8Array(32), Uint8Array.from(n), minus(1), Uint8Array.from({ length: 32 }, (_, i) => (i === 31 ? 1 : 0)), new Uint8Array(32).fill(0xff), Uint8Array.from(Buffer.from('ffffffff00000001' + '00'.repeat(24), 'hex')), Uint8Array.from(Buffer.from('fffffffeff' + 'ff'.repeat(27), 'hex'))];
    for (const d of edges) expect([Buffer.from(d).toString('hex'), isIdentityScalarInRange(d)]).toEqual([Buffer.from(d).toString('hex'), oracleIsScalar(d)]);
    for (let i = 0; i < 200; i++) {
      const d = seededRandom(`edge ${i}`).fill(new Uint8Array(32));
      d[0] = 0xff; // near n, where the comparison matters
      expect(isIdentityScalarInRange(d)).toBe(oracleIsScalar(d));
    }
    expect(isIdentityScalarInRange(new Uint8Array(31).fill(1))).toBe(false);
  });

  it('reports the uncompressed key, a PEM that node:crypto accepts, and the TF-M 2.2 instance ID 0x01 || SHA-256(COSE_Key) by default', () => {
    const d = generateIdentityPrivateKey(seededRandom('id'));
    const pub = identityPublicKeyOf(d);
    expect(pub.hex).toMatch(/^04[0-9a-f]{128}$/);
    expect(pub.hex).toBe(Buffer.from(oraclePublicKey(d)).toString('hex'));
    expect(pub.instanceId).toBe(instanceId22(pub.bytes));
    expect(identityPublicKeyOf(d, '2.1').instanceId).toBe('01' + createHash('sha256').update(pub.bytes).digest('hex'));
    const spki = createPublicKey(pub.pem);
    expect(spki.asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
    // The PEM verifies a signature made with d: it is really d's public key.
    const jwk = spki.export({ format: 'jwk' }) as { x: string; y: string };
    const priv = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', d: Buffer.from(d).toString('base64url'), x: jwk.x, y: jwk.y }, format: 'jwk' });
    const signature = createSign('sha256').update('attest').sign(priv);
    expect(createVerify('sha256').update('attest').verify(pub.pem, signature)).toBe(true);
    expect(() => describePublicKey(pub.bytes.subarray(1))).toThrow(/65 bytes/);
  });

  it('recognises the model wrapper by identity, not by its flag', () => {
    expect(isModelWrapper(modelIdentityKeyWrapper)).toBe(true);
    expect(isModelWrapper({ ...modelIdentityKeyWrapper, model: false })).toBe(true);
    expect(isModelWrapper({ name: 'mine', wrap: modelIdentityKeyWrapper.wrap })).toBe(true);
    expect(isModelWrapper({ name: 'declared', model: true, wrap: () => new Uint8Array(32) })).toBe(true);
    expect(isModelWrapper({ name: 'vendor', wrap: () => new Uint8Array(32) })).toBe(false);
  });

  it('the built-in wrapper is the model and round-trips', async () => {
    const mkek = seededRandom('m').fill(new Uint8Array(32));
    const deviceId = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const d = generateIdentityPrivateKey(seededRandom('d'));
    expect(modelIdentityKeyWrapper.model).toBe(true);
    const blob = await modelIdentityKeyWrapper.wrap({ chip: 'nrf5340', mkek, deviceId, privateKey: d });
    expect(Buffer.from(unwrapIdentityKeyModel(mkek, deviceId, blob))).toEqual(Buffer.from(d));
  });
});
