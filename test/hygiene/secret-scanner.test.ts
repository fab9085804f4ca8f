/**
 * The scanner must be able to fail: a hygiene suite that reports zero hits proves nothing unless the
 * same scanner finds every rendering a leak could take. Each test plants a key in one rendering.
 */
import { inspect } from 'node:util';
import { createHash } from 'node:crypto';
import { SecretScanner, WINDOW_BYTES } from './secret-scanner';

function pseudoRandom(label: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let block = 0;
  for (let i = 0; i < length; i += 32) {
    out.set(createHash('sha256').update(`${label}/${block++}`).digest().subarray(0, Math.min(32, length - i)), i);
  }
  return out;
}

const mkek = pseudoRandom('mkek', 32);
const mext = pseudoRandom('mext', 16);
const identity = pseudoRandom('identity', 32);
const innocent = pseudoRandom('not a secret', 65);

function scannerWithKeys(): SecretScanner {
  return new SecretScanner([
    { label: 'MKEK', bytes: mkek },
    { label: 'MEXT', bytes: mext },
    { label: 'identity key', bytes: identity },
  ]);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('secret scanner finds a planted key', () => {
  const scanner = scannerWithKeys();
  const cases: Array<[string, unknown, string]> = [
    ['lower-case hex in a log line', `wrote key ${hex(mkek)} to slot 2`, 'MKEK'],
    ['upper-case hex', `KEY=${hex(mkek).toUpperCase()}`, 'MKEK'],
    ['hex with 0x prefix inside a longer hex string', `blob 0x00ff${hex(identity)}aa00`, 'identity key'],
    ['hex at an odd nibble offset', `abc${hex(mext)}def`, 'MEXT'],
    ['a bigint scalar without its leading zero nibble', BigInt(`0x0${hex(identity).slice(1)}`).toString(16), 'identity key'],
    ['a bigint scalar in decimal', `d=${BigInt(`0x${hex(identity)}`).toString(10)}`, 'identity key'],
    ['a bigint value in an object', { d: BigInt(`0x${hex(identity)}`) }, 'identity key'],
    ['base64', `"mkek":"${Buffer.from(mkek).toString('base64')}"`, 'MKEK'],
    ['base64url', `token_${Buffer.from(mkek).toString('base64url')}`, 'MKEK'],
    ['base64 of the key embedded at offset 1 in a larger buffer', Buffer.concat([Buffer.from([7]), Buffer.from(mext), Buffer.from([9, 9])]).toString('base64'), 'MEXT'],
    ['base64 of the key embedded at offset 2', Buffer.concat([Buffer.from([7, 8]), Buffer.from(mext)]).toString('base64'), 'MEXT'],
    ['a PEM-like body wrapped at 16 characters', Buffer.concat([Buffer.alloc(7), Buffer.from(identity)]).toString('base64').replace(/(.{16})/g, '$1\n'), 'identity key'],
    ['Buffer inspect', `key: ${inspect(Buffer.from(mkek))}`, 'MKEK'],
    ['Uint8Array inspect (multi-line)', inspect({ key: Uint8Array.from(identity) }), 'identity key'],
    ['a JSON byte array', JSON.stringify({ key: Array.from(mext) }), 'MEXT'],
    ['JSON of a Buffer', JSON.stringify({ key: Buffer.from(mext) }), 'MEXT'],
    ['JSON of a Uint8Array', JSON.stringify({ key: Uint8Array.from(mext) }), 'MEXT'],
    ['a comma list without spaces', Array.from(mkek).join(','), 'MKEK'],
    ['a space-separated hex byte list', Array.from(mkek, (b) => b.toString(16).padStart(2, '0')).join(' '), 'MKEK'],
    ['a colon-separated hex byte list', Array.from(mkek, (b) => b.toString(16).padStart(2, '0')).join(':'), 'MKEK'],
    ['a C array of 0x bytes', `{ ${Array.from(mext, (b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')} }`, 'MEXT'],
    ['the key reversed (little-endian bigint)', hex(Uint8Array.from(mkek).reverse()), 'MKEK'],
    ['only the first 8 bytes of the key', `partial ${hex(mkek.subarray(0, WINDOW_BYTES))}`, 'MKEK'],
    ['the last 8 bytes of the key', `partial ${hex(identity.subarray(24))}`, 'identity key'],
    ['a Uint8Array in an event object', { type: 'step', data: Uint8Array.from(mext) }, 'MEXT'],
    ['a number[] in a result', { result: { bytes: Array.from(identity) } }, 'identity key'],
    ['a Buffer deep inside an error cause', Object.assign(new Error('failed'), { cause: { key: Buffer.from(mkek) } }), 'MKEK'],
    ['an error message', new Error(`slot holds ${hex(mkek)}`), 'MKEK'],
    ['a Map value', new Map([['k', hex(mext)]]), 'MEXT'],
    [
      'KMU VALUE words as a probe trace prints them',
      [0, 1, 2, 3].map((i) => `writeU32 0x${(0x00ff8820 + 4 * i).toString(16)} = 0x${Buffer.from(mext).readUInt32LE(4 * i).toString(16)}`).join('\n'),
      'MEXT',
    ],
    [
      'KMU VALUE words as numbers in events',
      [0, 1, 2, 3].map((i) => ({ op: 'writeU32', address: 0x00ff8820 + 4 * i, value: Buffer.from(mext).readUInt32LE(4 * i) })),
      'MEXT',
    ],
    ['two words of a key in decimal', `${Buffer.from(mkek).readUInt32LE(8)} and ${Buffer.from(mkek).readUInt32LE(20)}`, 'MKEK'],
    ['a JSON-escaped newline inside a hex byte list', JSON.stringify(Array.from(mkek.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ') + '\n' + Array.from(mkek.subarray(8, 16), (b) => b.toString(16).padStart(2, '0')).join(' ')), 'MKEK'],
  ];

  test.each(cases)('%s', (_name, document, label) => {
    const hits = scanner.scan(document, 'planted');
    expect(hits.map((h) => h.label)).toContain(label);
  });

  test('a hit report names the secret and place but masks the bytes', () => {
    const hits = scanner.scan({ log: [`ok`, `key ${hex(mkek)}`] }, 'run-1');
    expect(hits).toHaveLength(1);
    expect(hits[0].where).toBe('run-1.log[1]');
    expect(JSON.stringify(hits)).not.toContain(hex(mkek));
    expect(new SecretScanner([{ label: 'MKEK', bytes: mkek }]).scan(JSON.stringify(hits), 'report')).toEqual([]);
  });
});

describe('secret scanner stays quiet on output without key material', () => {
  const scanner = scannerWithKeys();

  test('public data, other random bytes, addresses and values of a provisioning run', () => {
    const document = {
      identityPublicKey: `04${hex(innocent.subarray(0, 64))}`,
      instanceId: `01${hex(innocent.subarray(1, 33))}`,
      base64: Buffer.from(innocent).toString('base64'),
      bytes: Uint8Array.from(innocent),
      log: [
        'write 0x00ff8100 = 0xffff0000',
        'select KMU slot 3 (0x50039500 = 0x00000003)',
        `PERM 0xfffffffc DEST 0x50845400 0x50845410 time ${Date.now()} ms`,
        inspect(Buffer.from(innocent)),
        `implementation id ${'aa'.repeat(8)}${'bb'.repeat(8)}${'cc'.repeat(8)}${'dd'.repeat(8)}`,
      ],
      counts: Array.from({ length: 64 }, (_, i) => i),
    };
    expect(scanner.scan(document, 'clean')).toEqual([]);
  });

  test('a single 32-bit word of a key is not reported (it could be chance)', () => {
    expect(scanner.scan(`value 0x${Buffer.from(mkek).readUInt32LE(0).toString(16)}`, 'one word')).toEqual([]);
  });

  test('seven contiguous bytes are below the window and not reported', () => {
    expect(scanner.scan(hex(mkek.subarray(3, 3 + WINDOW_BYTES - 1)), 'short')).toEqual([]);
  });

  test('an all-zero (wiped) buffer is never indexed as a secret', () => {
    const s = new SecretScanner([{ label: 'zeroed', bytes: new Uint8Array(32) }]);
    expect(s.size).toBe(0);
    expect(s.scan('0'.repeat(64), 'zeros')).toEqual([]);
  });

  test('the scanner keeps its own copy, so callers may zero their buffers', () => {
    const buffer = Uint8Array.from(mkek);
    const s = new SecretScanner([{ label: 'MKEK', bytes: buffer }]);
    buffer.fill(0);
    expect(s.scan(hex(mkek), 'after zeroing').map((h) => h.label)).toEqual(['MKEK']);
  });
});
