/**
 * provision() with a registry, for a library user's own flow on one device:
 *
 *   const { result, quota, warning } = await provisionWithRegistry(session, {
 *     registry: 'postgresql://line1@db/factory',   // or any Registry object
 *     lot: 'L2026-12',
 *     records: writer,                              // a RecordWriter (the results `registry sync` replays)
 *   });
 *
 * The same order as the station: reserve, the local intent record, begin, the run, the local
 * result record, complete. A refusal by the registry is the run's refusal (nothing written); a
 * registry lost after the first write is `warning` (the result is in the records).
 */
import * as os from 'node:os';
import { TfmError } from '../errors';
import type { ProbeSession } from '../probe/types';
import { provision } from '../provision/provision';
import type { ProvisionOptions, ProvisionResult } from '../provision/types';
import { AttemptRecorder } from '../records/attempt';
import type { RecordWriter } from '../records/writer';
import { RegistryAttempt } from './attempt';
import { openRegistry } from './open';
import type { QuotaState, Registry } from './types';

export interface ProvisionWithRegistryOptions extends Omit<ProvisionOptions, 'beforeIrreversible'> {
  /** A postgresql:// URL (a PgRegistry, closed when the run ends) or a Registry object (left open). */
  registry: string | Registry;
  lot: string;
  /** The local records (strongly advised: without them a result the registry did not take is lost). */
  records?: RecordWriter;
  /** Who holds the reservation (default: the records' station key ID, else host:<hostname>). */
  station?: string;
  /** Attempt facts for the records (default: from the session). */
  probeSerial?: number;
}

export interface RegistryRunResult {
  result: ProvisionResult;
  /** The lot's quota as the registry last said. */
  quota?: QuotaState;
  /** Set when the registry did not take the result (it is in the records for `registry sync`). */
  warning?: string;
}

export async function provisionWithRegistry(session: ProbeSession, options: ProvisionWithRegistryOptions): Promise<RegistryRunResult> {
  const { registry: registryOption, lot, records, station, probeSerial, onEvent, ...provisionOptions } = options;
  if (typeof lot !== 'string' || lot === '') throw new TfmError('INVALID_PARAMETER', 'provisionWithRegistry needs a lot.');
  const { registry, owned } = openRegistry(registryOption);
  try {
    const recorder = new AttemptRecorder(records, { probeSerial: probeSerial ?? 0, backend: session.backend, simulated: session.simulated, strategy: provisionOptions.strategy ?? 'host' });
    const attempt = new RegistryAttempt({ registry, lot, station: station ?? records?.signerKeyId ?? `host:${os.hostname()}` }, recorder);
    const result = await provision(session, {
      ...provisionOptions,
      onEvent: (event) => {
        recorder.observe(event);
        onEvent?.(event);
      },
      beforeIrreversible: (context) => attempt.beforeIrreversible(context, () => recorder.intent(context)),
    });
    const written = await recorder.result(result);
    const warning = await attempt.complete(written ?? recorder.resultInput(result));
    return { result, ...(attempt.quota !== undefined ? { quota: attempt.quota } : {}), ...(warning !== undefined && (attempt.reserved || result.afterWrite) ? { warning } : {}) };
  } finally {
    if (owned) await registry.close();
  }
}
