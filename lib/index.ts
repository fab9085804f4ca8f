/** tfm-provision: public library API. */
export * from './errors';
// For custom flows that end a process the way the CLI does (README: exit codes).
export { EXIT, exitCodeFor } from './exit-codes';
export * from './probe/types';
export * from './targets';
export * from './random';
export { NativeBinding, openBinding, type NativeBindingOptions, type NativeBackendName } from './probe/native';
export * from './provision';
export * from './image';
export { modelIdentityKeyWrapper, isModelWrapper, wrapIdentityKeyModel, unwrapIdentityKeyModel, type IdentityKeyWrapper, type IdentityKeyWrapInput } from './keys';
export type { LifecycleState } from './device/lifecycle';
export {
  runStation,
  stationExitCode,
  stationError,
  selectProbe,
  selectProbes,
  type StationOptions,
  type StationSummary,
  type StationEvent,
  type DeviceOutcome,
  type DevicePassed,
  type DeviceRefused,
  type DeviceFailed,
  type DeviceInterrupted,
  type WatchOptions,
} from './station';
export { recoverDevice, type RecoverReport, type RecoverCoreChoice } from './device/recover';
export { RecordWriter, AttemptRecorder, verifyRecordFile, readRecords, registryRows, toCsv, type ProvisioningRecord, type IntentRecord, type ResultRecord, type VerifyReport } from './records';
export { loadOrCreateStationKey, loadStationKey, readStationPublicKey, stationKeyPath, type StationKey, type VerifyOptions } from './records';
export {
  verifyAttestationToken,
  attestationError,
  recordsLookup,
  recordsLookupFromFile,
  registryLookup,
  staticLookup,
  instanceIdUnder,
  rawSignatureToDer,
  derSignatureToRaw,
  type VerifyAttestationOptions,
  type AttestationResult,
  type AttestationCheck,
  type AttestationClaims,
  type AttestationLookup,
  type InstanceIdDirectory,
  type RegisteredDevice,
  type InstanceIdFormula,
} from './attest';
export {
  PgRegistry,
  RegistryAttempt,
  openRegistry,
  provisionWithRegistry,
  type ProvisionWithRegistryOptions,
  type RegistryRunResult,
  redactUrl,
  type Registry,
  type RegistryDevice,
  type ReservationRequest,
  type Reservation,
  type CompletionRequest,
  type Completion,
  type QuotaState,
  type LotInfo,
  type LotStatus,
  type DeviceState,
  type StationIdentity,
  type PgRegistryOptions,
} from './registry';
