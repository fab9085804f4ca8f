/** The factory station: many probes in parallel, records, watch mode (see docs/station.md). */
export { runStation, stationExitCode, stationError } from './station';
export type { StationOptions, StationSummary, StationEvent, DeviceOutcome, DeviceOutcomeKind, DevicePassed, DeviceRefused, DeviceFailed, DeviceInterrupted, WatchOptions, ProvisionFunction } from './types';
export { selectProbe, selectProbes, parseSerialList, parseSerialNumber } from './probes';
export { createSimFleet, simFleetStateFiles, SIM_FLEET_FIRST_SERIAL, type SimFleet, type SimFleetOptions } from './sim-fleet';
