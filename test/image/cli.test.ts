/** `tfm-provision provision --strategy image ...`, in process, on a simulated device state file. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../lib/cli/program';
import { imageStrategyOptionsFrom } from '../../lib/cli/image-options';
import { diffDumps, SimulatedDevice } from '../../lib/sim';
import { writeImageFixtures, type ImageFixtures } from '../fixtures/images';
import { captureIo } from '../cli/support/io';

/** The CLI's streams in memory, run from `cwd` with an empty environment. */
function capture(cwd: string) {
  const c = captureIo({ cwd, env: { TFM_PROVISION_STATION_KEY: process.env.TFM_PROVISION_STATION_KEY } });
  return { io: c.io, out: c.stdout, err: c.stderr };
}

describe('provision --strategy image (CLI)', () => {
  let dir: string;
  let images: ImageFixtures;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tfm-image-cli-'));
    images = writeImageFixtures(path.join(dir, 'images'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('provisions a simulated nRF5340 with the image and reports strategy "image" in the JSON result line', async () => {
    const state = path.join(dir, 'dev.json');
    const c = capture(dir);
    const code = await runCli(['provision', '--sim', state, '--strategy', 'image', '--image', 'images/provisioning.hex', '--json'], c.io);
    expect(c.err()).toBe('');
    expect(code).toBe(0);
    const lines = c.out().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const result = lines[lines.length - 1]!;
    expect(result).toMatchObject({ type: 'result', ok: true, outcome: 'provisioned', strategy: 'image', lifecycle: 'PROVISIONING' });
    expect(lines.filter((l) => l.type === 'message').map((l) => l.text)).toContain('Writing the identity key to KMU');
    const device = SimulatedDevice.load(state);
    expect(device.lifecycle).toBe('PROVISIONING');
    expect(device.dump({ withFlash: true }).cores.application.flash).toEqual([]);
  });

  test('on --sim the image is followed on the device\'s virtual clock: the sample\'s run takes its modelled time, not the wall clock\'s', async () => {
    const state = path.join(dir, 'virtual.json');
    const c = capture(dir);
    expect(await runCli(['provision', '--sim', state, '--strategy', 'image', '--image', images.provisioning, '--json'], c.io)).toBe(0);
    const result = JSON.parse(c.out().trim().split('\n').pop()!) as { steps: Array<{ name: string; detail?: string }> };
    const run = result.steps.find((s) => s.name === 'runImage')!;
    // The model runs ~50 ms of virtual time; one 100 ms poll sees it done. On the wall clock the
    // CLI would instead wait out real polls and the 2 s grace for Success!.
    const elapsed = Number(/after (\d+) ms/.exec(run.detail ?? '')?.[1]);
    expect(elapsed).toBeGreaterThanOrEqual(50);
    expect(elapsed).toBeLessThan(1000);
  });

  test('on --sim a hung image times out on virtual time (a 10-minute --image-timeout costs no real time)', async () => {
    const state = path.join(dir, 'hung.json');
    const c = capture(dir);
    expect(await runCli(['provision', '--sim', state, '--strategy', 'image', '--image', images.notTheSample, '--image-timeout', '600'], c.io)).toBe(4);
    expect(c.err()).toMatch(/error IMAGE_TIMEOUT: .*within 600 s/);
    expect(SimulatedDevice.load(state).dump({ withFlash: true }).cores.application.flash).toEqual([]);
  }, 30_000);

  test.each<[string, number, string, (i: ImageFixtures) => string[]]>([
    ['an image overlapping UICR', 3, 'IMAGE_OUT_OF_RANGE', (i) => ['--image', i.overlapsUicr]],
    ['an application image with UICR records', 3, 'IMAGE_OUT_OF_RANGE', (i) => ['--image', i.provisioning, '--app', i.appWithUicr]],
    ['a bad checksum', 2, 'IMAGE_INVALID', (i) => ['--image', i.badChecksum]],
    ['a missing file', 2, 'IMAGE_INVALID', () => ['--image', 'nope.hex']],
  ])('%s: refused with exit %i and %s, the device unchanged', async (_name, exit, code, args) => {
    const state = path.join(dir, `refused-${code}-${exit}.json`);
    await runCli(['sim', 'create', state, '--chip', 'nrf5340'], capture(dir).io);
    const before = SimulatedDevice.load(state).dump({ withFlash: true });
    const c = capture(dir);
    expect(await runCli(['provision', '--sim', state, '--strategy', 'image', ...args(images)], c.io)).toBe(exit);
    expect(c.err()).toContain(`error ${code}`);
    expect(diffDumps(before, SimulatedDevice.load(state).dump({ withFlash: true }))).toEqual([]);
  });

  test('image options without --strategy image, and --strategy image without --image, are usage errors', async () => {
    const a = capture(dir);
    expect(await runCli(['provision', '--sim', '--image', images.provisioning], a.io)).toBe(2);
    expect(a.err()).toMatch(/--image apply to --strategy image only/);
    const b = capture(dir);
    expect(await runCli(['provision', '--sim', '--strategy', 'image'], b.io)).toBe(2);
    expect(b.err()).toMatch(/needs --image/);
  });

  test('option parsing: paths resolved, seconds to milliseconds, console choices', () => {
    // The image must exist to be accepted (checked before any probe is opened).
    const w = mkdtempSync(path.join(tmpdir(), 'tfm-image-options-'));
    writeFileSync(path.join(w, 'p.hex'), ':00000001FF\n');
    expect(imageStrategyOptionsFrom({ strategy: 'image', image: 'p.hex', imageTimeout: '2.5', consolePort: '/dev/ttyACM0', consoleBaud: '1000000' }, w)).toEqual({
      strategy: 'image',
      image: path.resolve(w, 'p.hex'),
      imageTimeoutMs: 2500,
      console: { serialPort: '/dev/ttyACM0', baudRate: 1000000 },
    });
    expect(imageStrategyOptionsFrom({ strategy: 'image', image: 'p.hex', rtt: false, rttAddress: '0x20000400' }, w)).toMatchObject({ console: 'none', rttAddress: 0x20000400 });
    expect(() => imageStrategyOptionsFrom({ strategy: 'image', image: 'p.hex', imageTimeout: '0' }, w)).toThrow(/positive/);
    expect(() => imageStrategyOptionsFrom({ strategy: 'image', image: 'missing.hex' }, w)).toThrow(expect.objectContaining({ code: 'IMAGE_INVALID' }));
    expect(() => imageStrategyOptionsFrom({ strategy: 'other' }, '/w')).toThrow(/host" or "image/);
  });
});
