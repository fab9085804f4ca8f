import MemoryMap from 'nrf-intel-hex';
import { TfmError } from '../../lib/errors';
import { nrf5340, nrf9160 } from '../../lib/targets';
import { expectedPages, parseImage } from '../../lib/image/intel-hex';
import { PROVISIONING_IMAGE_MARKERS } from '../../lib/targets/provisioning-sample';
import { planProgramBlocks } from '../../lib/image/flash';
import { syntheticHex, syntheticNetworkImage, syntheticProvisioningImage } from '../../lib/testing';

function hexOf(runs: Array<[number, number[]]>): string {
  const map = new MemoryMap();
  for (const [address, bytes] of runs) map.set(address, Uint8Array.from(bytes));
  return map.asHexString();
}

function errorOf(fn: () => unknown): TfmError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TfmError) return error;
    throw error;
  }
  throw new Error('expected a TfmError');
}

describe('image checks', () => {
  test('a provisioning image is parsed into segments and the exact pages it covers', () => {
    const image = parseImage(syntheticProvisioningImage({ base: 0x10000, size: 40 * 1024 }), { target: nrf5340, role: 'provisioning' });
    expect(image.core).toBe('application');
    expect(image.byteCount).toBe(40 * 1024);
    expect(image.pages).toEqual(Array.from({ length: 10 }, (_, i) => 0x10000 + i * 0x1000));
    expect(image.missingMarkers).toEqual([]);
  });

  test('an image that starts and ends inside pages covers every page it touches', () => {
    const image = parseImage(hexOf([[0x0ffe, [1, 2, 3, 4]], [0x3000, [5]]]), { target: nrf5340, role: 'application' });
    expect(image.pages).toEqual([0x0000, 0x1000, 0x3000]);
  });

  test('an image without the sample strings is accepted but reports the missing markers', () => {
    const image = parseImage(syntheticHex({ size: 4096 }), { target: nrf5340, role: 'provisioning' });
    expect(image.missingMarkers).toEqual([...PROVISIONING_IMAGE_MARKERS]);
  });

  test('a bad checksum is IMAGE_INVALID', () => {
    const good = hexOf([[0, [1, 2, 3, 4]]]);
    const lines = good.split('\n');
    lines[0] = lines[0]!.slice(0, -2) + (lines[0]!.endsWith('00') ? '01' : '00');
    const error = errorOf(() => parseImage(lines.join('\n'), { target: nrf5340, role: 'application', source: 'bad.hex' }));
    expect(error.code).toBe('IMAGE_INVALID');
    expect(error.message).toMatch(/bad\.hex.*Checksum/);
  });

  test.each([
    ['text that is not hex', 'hello world'],
    ['a missing EOF record', ':0400000001020304F2'],
    ['an empty file', ''],
    ['only an EOF record', ':00000001FF'],
    ['a truncated record', ':0400000001020304'],
  ])('%s is IMAGE_INVALID', (_name, text) => {
    expect(errorOf(() => parseImage(text, { target: nrf5340, role: 'application' })).code).toBe('IMAGE_INVALID');
  });

  test('trailing blank lines after the EOF record are tolerated', () => {
    expect(() => parseImage(hexOf([[0, [1, 2, 3, 4]]]) + '\n\r\n\n', { target: nrf5340, role: 'application' })).not.toThrow();
  });

  test('a record in UICR is IMAGE_OUT_OF_RANGE and names UICR', () => {
    const text = syntheticHex({ size: 4096, extra: [{ address: 0x00ff8100, data: new Uint8Array([0, 0, 0xff, 0xff]) }] });
    const error = errorOf(() => parseImage(text, { target: nrf5340, role: 'provisioning', source: 'merged.hex' }));
    expect(error.code).toBe('IMAGE_OUT_OF_RANGE');
    expect(error.message).toMatch(/UICR/);
    expect(error.details).toMatchObject({ address: 0x00ff8100, core: 'application' });
  });

  test('a record in FICR is IMAGE_OUT_OF_RANGE and names FICR', () => {
    const error = errorOf(() => parseImage(hexOf([[0x00ff0204, [1, 2, 3, 4]]]), { target: nrf9160, role: 'application' }));
    expect(error.code).toBe('IMAGE_OUT_OF_RANGE');
    expect(error.message).toMatch(/FICR/);
  });

  test('a run that starts in flash and ends past it is refused at the first byte outside', () => {
    const error = errorOf(() => parseImage(hexOf([[0x000ffffc, [1, 2, 3, 4, 5, 6, 7, 8]]]), { target: nrf5340, role: 'application' }));
    expect(error.code).toBe('IMAGE_OUT_OF_RANGE');
    expect(error.details).toMatchObject({ address: 0x00100000 });
  });

  test('network-core flash in the application image is refused, and is accepted as the network image', () => {
    const net = syntheticNetworkImage();
    expect(errorOf(() => parseImage(net, { target: nrf5340, role: 'provisioning' })).code).toBe('IMAGE_OUT_OF_RANGE');
    const image = parseImage(net, { target: nrf5340, role: 'network' });
    expect(image.core).toBe('network');
    expect(image.pageSize).toBe(0x800);
    expect(image.pages).toEqual([0x01000000, 0x01000800, 0x01001000, 0x01001800]);
    expect(image.missingMarkers).toEqual([]);
  });

  test('a network image for a chip without a network core is INVALID_PARAMETER', () => {
    expect(errorOf(() => parseImage(syntheticNetworkImage(), { target: nrf9160, role: 'network' })).code).toBe('INVALID_PARAMETER');
  });

  test('an application image in network UICR is refused', () => {
    const error = errorOf(() => parseImage(hexOf([[0x01ff8000, [0, 0, 0, 0]]]), { target: nrf5340, role: 'network' }));
    expect(error.code).toBe('IMAGE_OUT_OF_RANGE');
    expect(error.message).toMatch(/network core's UICR/);
  });
});

describe('page contents and program blocks', () => {
  test('expected pages are erased except for the image bytes', () => {
    const image = parseImage(hexOf([[0x1002, [0xaa, 0xbb]]]), { target: nrf5340, role: 'application' });
    const page = expectedPages(image).get(0x1000)!;
    expect(page.length).toBe(0x1000);
    expect(Array.from(page.subarray(0, 6))).toEqual([0xff, 0xff, 0xaa, 0xbb, 0xff, 0xff]);
  });

  test('every word holding image bytes is written exactly once, padded with 0xFF, never across a page', () => {
    const image = parseImage(
      hexOf([
        [0x0ffd, [1, 2, 3, 4, 5]], // crosses the page boundary, unaligned at both ends
        [0x1003, [6]], // shares the word 0x1000..0x1003 with the run above
        [0x2000, [7, 8, 9, 10]],
      ]),
      { target: nrf5340, role: 'application' },
    );
    const blocks = planProgramBlocks(image, 0x1000);
    expect(blocks.map((b) => [b.address, Array.from(b.data)])).toEqual([
      [0x0ffc, [0xff, 1, 2, 3]],
      [0x1000, [4, 5, 0xff, 6]],
      [0x2000, [7, 8, 9, 10]],
    ]);
    const words = blocks.flatMap((b) => Array.from({ length: b.data.length / 4 }, (_, i) => b.address + 4 * i));
    expect(new Set(words).size).toBe(words.length);
  });

  test('blocks are bounded by the block size', () => {
    const image = parseImage(syntheticProvisioningImage({ size: 8192 }), { target: nrf5340, role: 'provisioning' });
    const blocks = planProgramBlocks(image, 1024);
    expect(blocks).toHaveLength(8);
    expect(blocks.every((b) => b.data.length === 1024)).toBe(true);
  });
});
