import type { ImageConsole } from '../../lib/image/console';
import { checkTimeout, outcomeError, watchImageRun, type ChipProgress, type RunClock } from '../../lib/image/run';
import { SAMPLE_FAILURE_CODES, SAMPLE_FAILURES } from '../../lib/targets/provisioning-sample';

/** A manual clock: sleeping advances time, nothing waits for real. */
function manualClock(): RunClock & { t: number } {
  const clock = { t: 0, now: () => clock.t, sleep: async (ms: number) => void (clock.t += ms) };
  return clock;
}

/** A console that releases scripted lines at given times. */
function scriptedConsole(clock: RunClock, script: Array<[number, string]>): ImageConsole {
  const pending = [...script];
  return {
    kind: 'rtt',
    description: 'scripted',
    async poll() {
      const due: string[] = [];
      while (pending.length > 0 && pending[0]![0] <= clock.now()) due.push(pending.shift()![1]);
      return due;
    },
    async close() {},
  };
}

const assembly: ChipProgress = { lifecycle: 'ASSEMBLY', implementationIdWritten: false, complete: false };
const done: ChipProgress = { lifecycle: 'PROVISIONING', implementationIdWritten: true, complete: true };

describe('watching the image run', () => {
  const base = { pollIntervalMs: 100, successGraceMs: 2000, timeoutMs: 10_000 };

  test('ends on Success! and keeps every line in order', async () => {
    const clock = manualClock();
    const console = scriptedConsole(clock, [
      [100, '<inf> provisioning_image: Successfully verified PSA lifecycle state ASSEMBLY!'],
      [300, '<inf> provisioning_image: Success!'],
    ]);
    const seen: string[] = [];
    const report = await watchImageRun({ ...base, clock, console, readProgress: async () => (clock.now() >= 300 ? done : assembly), onLine: (m) => seen.push(m) });
    expect(report.outcome).toBe('success');
    expect(report.lines).toEqual(['Successfully verified PSA lifecycle state ASSEMBLY!', 'Success!']);
    expect(seen).toEqual(report.lines);
    expect(report.progress).toEqual(done);
  });

  test('ends on a failure line with that line', async () => {
    const clock = manualClock();
    const console = scriptedConsole(clock, [[200, '<inf> provisioning_image: Failure: Identity key slot already written. Exiting!']]);
    const report = await watchImageRun({ ...base, clock, console, readProgress: async () => assembly });
    expect(report.outcome).toBe('failure');
    expect(report.failureLine).toBe('Failure: Identity key slot already written. Exiting!');
  });

  // The newest sample's failure lines, verbatim (samples/tfm/provisioning_image/src/main.c), each to its code.
  test.each([
    ['Failure: Cannot read PSA lifecycle state. Exiting!', 'IMAGE_LIFECYCLE_READ_FAILED'],
    ['Failure: Lifecycle state is not ASSEMBLY as expected. Exiting!', 'IMAGE_LIFECYCLE_NOT_ASSEMBLY'],
    ['Failure: Cannot set PSA lifecycle state PROVISIONING. Exiting!', 'IMAGE_LIFECYCLE_UPDATE_FAILED'],
    ['Failure: Lifecycle state is not PROVISION as expected. Exiting!', 'IMAGE_LIFECYCLE_NOT_PROVISIONING'],
    ['Failure: Writing random HUK keys failed. Exiting!', 'IMAGE_HUK_WRITE_FAILED'],
    ['Failure: Identity key slot already written. Exiting!', 'IMAGE_IDENTITY_KEY_SLOT_WRITTEN'],
    ['Failure: Identity key write failed! Exiting!', 'IMAGE_IDENTITY_KEY_WRITE_FAILED'],
    ['Failure: Identity key is not written! Exiting!', 'IMAGE_IDENTITY_KEY_NOT_WRITTEN'],
    ['Failure: Writing implementation ID failed. Exiting!', 'IMAGE_IMPLEMENTATION_ID_WRITE_FAILED'],
    ['Cannot write to the UICR->APPROTECT register, exiting...!', 'IMAGE_NETWORK_APPROTECT_FAILED'],
    ['Failure: Something a customised build says. Exiting!', 'IMAGE_FAILED'],
  ])('the failure line "%s" ends the run with %s', async (line, code) => {
    const clock = manualClock();
    const console = scriptedConsole(clock, [[200, `[00:00:00.200,000] <inf> provisioning_image: ${line}`]]);
    const report = await watchImageRun({ ...base, clock, console, readProgress: async () => assembly });
    expect(report).toMatchObject({ outcome: 'failure', failureLine: line, failure: { code } });
    const error = outcomeError(report, { source: 'image.hex' }, base.timeoutMs, 'provisioning image');
    expect(error).toMatchObject({ code, afterWrite: true });
    expect(error!.details).toMatchObject({ failureLine: line });
  });

  test('every failure line of the sample facts has its own code', () => {
    const lines = Object.entries(SAMPLE_FAILURES).filter(([name]) => name !== 'lifecycleWas');
    expect(Object.keys(SAMPLE_FAILURE_CODES).sort()).toEqual(lines.map(([name]) => name).sort());
    expect(new Set(Object.values(SAMPLE_FAILURE_CODES)).size).toBe(lines.length);
  });

  test('without a console, ends when the chip shows the work done', async () => {
    const clock = manualClock();
    const changes: ChipProgress[] = [];
    const report = await watchImageRun({ ...base, clock, readProgress: async () => (clock.now() >= 500 ? done : assembly), onProgress: (p) => changes.push(p) });
    expect(report.outcome).toBe('chip-complete');
    expect(changes).toEqual([assembly, done]);
    expect(report.elapsedMs).toBe(500);
  });

  test('with a silent console attached, waits the grace period for Success! and then trusts the chip', async () => {
    const clock = manualClock();
    const report = await watchImageRun({ ...base, clock, console: scriptedConsole(clock, []), consoleAttached: () => true, readProgress: async () => done });
    expect(report.outcome).toBe('chip-complete');
    expect(report.elapsedMs).toBeGreaterThanOrEqual(2000);
  });

  test('a hang ends at the timeout', async () => {
    const clock = manualClock();
    const report = await watchImageRun({ ...base, clock, console: scriptedConsole(clock, []), readProgress: async () => assembly });
    expect(report.outcome).toBe('timeout');
    expect(report.elapsedMs).toBeGreaterThanOrEqual(10_000);
    expect(report.progress).toEqual(assembly);
  });

  test('a probe error while polling propagates', async () => {
    const clock = manualClock();
    const lost = Object.assign(new Error('gone'), { code: 'PROBE_DISCONNECTED' });
    await expect(watchImageRun({ ...base, clock, readProgress: async () => Promise.reject(lost) })).rejects.toBe(lost);
  });

  test('the timeout must be a positive number', () => {
    expect(checkTimeout(undefined)).toBe(60_000);
    expect(() => checkTimeout(0)).toThrow(/positive/);
    expect(() => checkTimeout(Number.NaN)).toThrow(/positive/);
  });
});
