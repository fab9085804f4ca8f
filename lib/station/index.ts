/** The factory station: many probes in parallel, records, watch mode (see docs/station.md). */
export { runStation, stationExitCode } from './station';
export type { StationOptions, StationSummary, StationEvent, DeviceOutcome, DeviceOutcomeKind, WatchOptions, ProvisionFunction } from './station';
export { selectProbe, selectProbes, parseSerialList, parseSerialNumber } from './probes';
