/**
 * shutdown() with a finished call's result still queued for the JS thread: the result and the
 * thread's last message arrive after the worker released its ThreadSafeFunction. The worker must
 * still be there to receive them (it is freed from the TSFN finalizer). Without AddressSanitizer a
 * use after free here usually goes unnoticed; `npm run test:asan` runs this same test against the
 * sanitizer build, where it ends the child with a heap-use-after-free report.
 */
import { runChild } from './child-process';

it.each(['list', 'session'])('a %s result queued when shutdown() runs is delivered to a live worker', (mode) => {
  const child = runChild('shutdown-queued.js', [mode], { nodeArgs: ['--expose-gc'] });
  expect(child.stderr).not.toContain('AddressSanitizer');
  expect({ status: child.status, signal: child.signal }).toEqual({ status: 0, signal: null });
  expect(child.json).toEqual({ settled: 1 });
});
