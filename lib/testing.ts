/**
 * tfm-provision/testing: simulated nRF5340 / nRF91 devices and probes for users' own tests and CI
 * rigs (the counterpart of @serialport/binding-mock). See docs/simulator.md.
 *
 *   const { device, session } = await createSimProbe({ chip: 'nrf5340' });
 *   // ... provision through `session` ...
 *   expect(device.violations).toEqual([]);
 *   expect(device.bootTfm().ok).toBe(true);
 */
export * from './sim';
export { seededRandom, type RandomSource } from './random';
export { createSimFleet, type SimFleet, type SimFleetOptions } from './station/sim-fleet';
