/** provision/: one provisioning run (run.ts) with the host or the image strategy (strategies/), verification and inspection. */
export * from './types';
export * from './events';
export { preflight, preflightSlotIndices, restoreNetworkCoreHold, type Preflight, type PreflightOptions, type PreflightWarning } from './preflight';
export { decide, type Decision, type DecisionAction, type DecideOptions } from './decide';
export { buildPlan } from './plan';
export { verify } from './verify';
export { inspect, type DeviceReport } from './inspect';
export { provision, provisionOrThrow } from './provision';
