/**
 * A simulated session whose device is saved after every operation that changes it, so a state
 * file is as durable as silicon: a process stopped at any point (signal, kill -9, closed pipe)
 * leaves the device on disk exactly as far as the run got, and a save that fails is a failure of
 * that very operation, reported by the run, never a "Success!" over a file that was not written.
 */
import type { ProbeSession } from '../probe/types';

const MUTATING = new Set(['write', 'writeU32', 'erasePage', 'eraseAll', 'recover', 'writeAccessPort']);

export function persistingSession(session: ProbeSession, save: () => void): ProbeSession {
  return new Proxy(session, {
    get(target, property) {
      // Getters run on the session itself (virtualClock finds its device by `this`), not the proxy.
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      if (typeof property !== 'string' || !MUTATING.has(property)) return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        let failed = false;
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (error) {
          failed = true;
          throw error;
        } finally {
          // Also after a failed or torn write: the silicon keeps whatever happened. A save error
          // replaces a successful result (the write is not durable), not the operation's own error.
          try {
            save();
          } catch (error) {
            if (!failed) throw error;
          }
        }
      };
    },
  });
}
