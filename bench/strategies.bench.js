'use strict';
/**
 * Modelled time per device for the two provisioning strategies on a simulated nRF5340, with one
 * latency model for both: 1 ms per probe operation (the simulator's default latency), the
 * simulator's NVMC timings (43 us per word write, 87.5 ms per page erase), a 40 KiB provisioning
 * image and a 1 s on-chip run of the image. Everything is virtual time: nothing waits for real.
 *
 * The simulator's model of the sample finishes in a few tens of milliseconds of virtual time; a real
 * build takes about a second (CryptoCell key generation, logging), so the bench charges the run as
 * measured - model duration + 1 s, and reports the model's own duration next to it.
 *
 * Run by bench/run.js (`npm run bench`), which builds dist/ first; or alone: node bench/strategies.bench.js
 */
const { fromDist, logOf, round, runWhenMain } = require('./common');

const { provision } = fromDist('provision');
const { createSimProbe, syntheticProvisioningImage } = fromDist('sim');
const { seededRandom } = fromDist('random');
const { parseImage } = fromDist('image', 'intel-hex');
const { TARGETS } = fromDist('targets');

const CHIP = 'nrf5340';
const IMAGE_BYTES = 40 * 1024;
const ASSUMED_RUN_MS = 1000;
const DEVICE_ID = '0123456789abcdef';

/** Wraps the session so every probe call's virtual time is charged to (step, category). */
function meter(session, device) {
  const ledger = new Map();
  const state = { step: 'setup', goAtUs: undefined };
  const charge = (category, us) => {
    const key = `${state.step}:${category}`;
    ledger.set(key, (ledger.get(key) || 0) + us);
  };
  const categoryOf = (method, args) => {
    if (method === 'erasePage' || method === 'eraseAll') return 'erase';
    if ((method === 'write' || method === 'writeU32') && args[2] && args[2].nvmc) return 'program';
    if (method === 'read' || method === 'readU32') return 'read';
    return 'control';
  };
  const proxy = new Proxy(session, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args) => {
        const t0 = device.virtualTimeUs;
        if (property === 'go' && state.step === 'runImage') state.goAtUs = t0;
        try {
          return await value.apply(target, args);
        } finally {
          charge(categoryOf(String(property), args), device.virtualTimeUs - t0);
        }
      };
    },
  });
  return { session: proxy, ledger, state };
}

/**
 * `used`: the part has old firmware in every page the provisioning image covers (a pattern with no
 * 0xFF byte), so the blank check finds them all used and erases them, as before issue 16.
 */
async function measure(strategy, { chip = CHIP, used = false } = {}) {
  const { device, session } = await createSimProbe({ chip, deviceId: DEVICE_ID, latencyMs: 1 });
  const hex = strategy === 'image' ? syntheticProvisioningImage({ size: IMAGE_BYTES }) : undefined;
  if (used) {
    const parsed = parseImage(hex, { target: TARGETS[chip], role: 'provisioning' });
    for (const page of parsed.pages) device.programFlash('application', page, Uint8Array.from({ length: parsed.pageSize }, (_, i) => (i * 7 + 1) & 0x7f));
  }
  const metered = meter(session, device);
  const stepTimes = new Map();
  let stepStartUs = 0;
  const startUs = device.virtualTimeUs;
  const clock = { now: () => device.virtualTimeUs / 1000, sleep: async (ms) => device.runFor(ms * 1000) };
  const options = {
    strategy,
    random: seededRandom('bench'),
    clock,
    onEvent: (event) => {
      if (event.type === 'stepBegin') {
        metered.state.step = event.step;
        stepStartUs = device.virtualTimeUs;
      } else if (event.type === 'stepEnd') {
        stepTimes.set(event.step, (stepTimes.get(event.step) || 0) + device.virtualTimeUs - stepStartUs);
        metered.state.step = 'between';
      }
    },
  };
  if (strategy === 'image') options.image = { hex, name: 'provisioning.hex' };
  const result = await provision(metered.session, options);
  if (!result.ok) throw new Error(`${strategy} strategy failed in the bench: ${result.errorCode} ${result.error && result.error.message}`);
  const totalUs = device.virtualTimeUs - startUs;

  const sum = (predicate) => [...metered.ledger].filter(([key]) => predicate(...key.split(':'))).reduce((a, [, us]) => a + us, 0);
  const ms = (us) => Math.round(us) / 1000;
  let runExtraUs = 0;
  let modelMs;
  if (strategy === 'image') {
    const success = device.consoleEntries.find((e) => e.core === 'application' && e.line.endsWith('Success!'));
    if (success && metered.state.goAtUs !== undefined) {
      modelMs = ms(success.timeUs - metered.state.goAtUs);
      runExtraUs = Math.max(0, ASSUMED_RUN_MS * 1000 - (success.timeUs - metered.state.goAtUs));
    }
  }
  const breakdown = {
    eraseMs: ms(sum((_step, c) => c === 'erase')),
    programMs: ms(sum((step, c) => c === 'program' && step !== 'verify')),
    runMs: ms((stepTimes.get('runImage') || 0) + runExtraUs),
    verifyMs: ms(sum((step, c) => c === 'read' && (step === 'verify' || step === 'programImage' || step === 'removeImage')) + sum((step, c) => step === 'verify' && c !== 'read')),
  };
  const accounted = breakdown.eraseMs + breakdown.programMs + breakdown.verifyMs + ms(stepTimes.get('runImage') || 0);
  breakdown.otherMs = Math.round((ms(totalUs) - accounted) * 1000) / 1000; // preflight, control calls, net-core lock
  return {
    strategy,
    chip,
    ...(strategy === 'image' ? { part: used ? 'old firmware in the image pages' : 'blank' } : {}),
    perDeviceMs: ms(totalUs + runExtraUs),
    operations: result.operations,
    nonVolatileWrites: result.writes,
    breakdown,
    ...(modelMs !== undefined ? { simulatorModelRunMs: modelMs, assumedRunMs: ASSUMED_RUN_MS } : {}),
  };
}

async function run(ctx = {}) {
  const host = await measure('host');
  const image = await measure('image');
  const imageUsed = await measure('image', { used: true });
  const hostOperations = { nrf5340: host.operations };
  for (const chip of ['nrf9160', 'nrf9161', 'nrf9151']) hostOperations[chip] = (await measure('host', { chip })).operations;
  const ratio = round(image.perDeviceMs / host.perDeviceMs);
  const figures = {
    name: 'provisioning strategies (modelled time per device, nRF5340)',
    model: '1 ms per probe operation + simulator NVMC timings (43 us/word, 87.5 ms/page erase); 40 KiB provisioning image; 1 s on-chip run',
    host,
    image,
    imageUsedPart: imageUsed,
    hostOperations,
    imageOverHostRatio: ratio,
    expectation: 'host at least 8x faster; host <= 80 operations on nRF5340 and <= 56 on nRF91; image <= 2600 ms on a blank nRF5340',
    expectationMet: ratio >= 8 && hostOperations.nrf5340 <= 80 && ['nrf9160', 'nrf9161', 'nrf9151'].every((c) => hostOperations[c] <= 56) && image.perDeviceMs <= 2600,
  };
  logOf(ctx)(`host ${host.perDeviceMs} ms/device, image ${image.perDeviceMs} ms/device (used part ${imageUsed.perDeviceMs} ms): host is ${ratio}x faster; host operations ${JSON.stringify(hostOperations)}`);
  return figures;
}

module.exports = { run };

runWhenMain(module, run);
