/** Provisioning records: append-only JSON Lines with a SHA-256 chain (see format.ts). */
export * from './format';
export { RecordWriter, type RecordWriterOptions } from './writer';
export { verifyRecordFile, readRecords, type VerifyReport, type ChainBreak } from './verify';
export { registryRows, toCsv, CSV_COLUMNS, type RegistryRow } from './export';
export { AttemptRecorder, type AttemptInfo } from './attempt';
