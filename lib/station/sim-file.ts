/**
 * One simulated device kept in a state file, as a fleet of one (`list --sim FILE`,
 * `recover --sim FILE`, `station --sim FILE`): the same `--sim FILE` that provision, verify and
 * inspect take. The file must exist (SIM_STATE_NOT_FOUND otherwise, nothing created: a typo in a
 * name must not look like a blank device). The device is saved back when a session on it closes,
 * and after every operation that changes it, so a failed run leaves what the silicon would hold.
 */
import * as path from 'node:path';
import type { LibraryInfo, OpenOptions, ProbeBinding, ProbeInfo, ProbeSession } from '../probe/types';
import type { SimFleet } from './sim-fleet';

const MUTATING = new Set(['write', 'writeU32', 'erasePage', 'eraseAll', 'recover', 'writeAccessPort']);

export function createSimFileFleet(file: string, cwd: string = process.cwd()): SimFleet {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const sim = require('../sim') as typeof import('../sim');
  const resolved = path.resolve(cwd, file);
  const device = sim.SimulatedDevice.load(resolved);
  const simBinding = new sim.SimBinding();
  const serialNumber = sim.DEFAULT_SIM_SERIAL;
  simBinding.attach(serialNumber, device);
  const save = (): void => simBinding.device(serialNumber)?.save(resolved, { overwrite: true });

  const binding: ProbeBinding = {
    backend: simBinding.backend,
    list: (): Promise<ProbeInfo[]> => simBinding.list(),
    libraryInfo: (): Promise<LibraryInfo> => simBinding.libraryInfo(),
    async open(serial: number, openOptions?: OpenOptions): Promise<ProbeSession> {
      const session = await simBinding.open(serial, openOptions);
      return new Proxy(session, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver) as unknown;
          if (typeof value !== 'function') return value;
          const fn = value as (...a: unknown[]) => Promise<unknown>;
          if (property === 'close') {
            return async (...args: unknown[]) => {
              try {
                return await fn.apply(target, args);
              } finally {
                save();
              }
            };
          }
          if (typeof property !== 'string' || !MUTATING.has(property)) return fn.bind(target);
          return async (...args: unknown[]) => {
            try {
              return await fn.apply(target, args);
            } finally {
              save(); // also after a failed or torn write: the silicon keeps whatever happened
            }
          };
        },
      });
    },
  };

  return {
    binding,
    sim: simBinding,
    serialNumbers: [serialNumber],
    bootModel: (serial) => (simBinding.device(serial) === undefined ? undefined : (request) => simBinding.device(serial)!.clone().bootTfm(request)),
    stateFile: (serial) => (serial === serialNumber ? resolved : undefined),
    // Like `provision --sim FILE`: a state file is not locked (one person's demo, not a station).
    lockScope: undefined,
  };
}
