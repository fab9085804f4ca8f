/** Provisioning records: append-only JSON Lines with a SHA-256 chain and station signatures (see format.ts). */
export * from './format';
export { RecordWriter, type RecordWriterOptions } from './writer';
export { verifyRecordFile, readRecords, checkAppendable, reportError, MAX_RECORD_LINE_BYTES, type VerifyReport, type VerifyOptions, type ChainBreak } from './verify';
export { registryRows, toCsv, csvField, CSV_COLUMNS, type RegistryRow } from './export';
export { AttemptRecorder, type AttemptInfo } from './attempt';
export { MeaningChecker, publicKeyProblem, type RecordProblem } from './meaning';
export {
  STATION_KEY_ENV,
  loadOrCreateStationKey,
  loadStationKey,
  readStationPublicKey,
  stationKeyId,
  stationKeyPath,
  verifySignature,
  type StationKey,
} from './station-key';
