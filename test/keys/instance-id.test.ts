/**
 * TF-M's two instance-ID formulas on one fixed key (the P-256 generator G, i.e. private key d = 1),
 * checked against bytes built by hand from the specifications (test/support/instance-id.ts) and
 * against the literal values computed outside this code base (python hashlib over the same bytes).
 */
import { coseKeyOf, describePublicKey, instanceIdFormulaForTfm, instanceIdUnder } from '../../lib/keys';
import { coseKeyByHand, instanceId21, instanceId22 } from '../support/instance-id';

const G = Buffer.from(
  '04' + '6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296' + '4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5',
  'hex',
);

describe('instance ID by TF-M version, on the key d = 1 (public key G)', () => {
  test('the COSE_Key TF-M 2.2 hashes is the 75 bytes t_cose_key_encode() writes: {1: 2, -1: 1, -2: x, -3: y}', () => {
    const expected = 'a401022001215820' + G.subarray(1, 33).toString('hex') + '225820' + G.subarray(33).toString('hex');
    expect(coseKeyByHand(G).toString('hex')).toBe(expected);
    expect(coseKeyOf(G).toString('hex')).toBe(expected);
    expect(coseKeyOf(G)).toHaveLength(75);
  });

  test("TF-M 2.1.x (NCS up to v3.1): 0x01 || SHA-256(0x04 || X || Y)", () => {
    const vector = '01698bea63dc44a344663ff1429aea10842df27b6b991ef25866b2c6c02cdcc5be';
    expect(instanceId21(G)).toBe(vector);
    expect(instanceIdUnder(G, '2.1')).toBe(vector);
  });

  test('TF-M 2.2.0 on (NCS v3.2 on): 0x01 || SHA-256(COSE_Key)', () => {
    const vector = '01b5d5e1275063b1bec731a51c1133b69e5ae5812fe66d167516e88f3fadae55a4';
    expect(instanceId22(G)).toBe(vector);
    expect(instanceIdUnder(G, '2.2')).toBe(vector);
  });

  test('the public key description carries the formula it used, TF-M 2.2 by default', () => {
    expect(describePublicKey(G)).toMatchObject({ instanceId: instanceId22(G), instanceIdFormula: '2.2' });
    expect(describePublicKey(G, '2.1')).toMatchObject({ instanceId: instanceId21(G), instanceIdFormula: '2.1' });
  });

  test.each([
    ['2.0', '2.1'],
    ['2.1', '2.1'],
    ['2.1.2', '2.1'],
    ['v2.1.1', '2.1'],
    ['2.2', '2.2'],
    ['2.2.0', '2.2'],
    ['2.3', '2.2'],
  ])('TF-M %s uses the %s formula', (version, formula) => {
    expect(instanceIdFormulaForTfm(version)).toBe(formula);
  });

  test.each(['3.2', '2', 'ncs-3.2', ''])('refuses %j as a TF-M version', (version) => {
    expect(() => instanceIdFormulaForTfm(version)).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }));
  });
});
