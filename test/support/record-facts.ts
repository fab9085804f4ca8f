/** The intent facts of a test attempt numbered n, as the record tests write them. */
import type { IntentInput } from '../../lib/records';

export function recordFacts(n: number, extra: Partial<IntentInput> = {}): IntentInput {
  return {
    attempt: `attempt-${n}`,
    tool: { name: 'tfm-provision', version: '0.0.0-test' },
    probeSerial: 1000 + n,
    backend: 'sim',
    simulated: true,
    chip: 'nrf5340',
    deviceId: `DEV${String(n).padStart(13, '0')}`,
    lifecycleBefore: 'ASSEMBLY',
    startedAt: new Date(0).toISOString(),
    ...extra,
  };
}
