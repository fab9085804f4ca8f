/** Shared helpers of the provisioning tests (simulator-backed). */
import type { SimTfmBootRequest } from '../../lib/sim/types';
import { SHARE_ENV, Worker } from 'node:worker_threads';
import type { ProbeSession } from '../../lib/probe/types';
import { createSimProbe, type SimDeviceState } from '../../lib/sim';
import type { ChipName } from '../../lib/targets';

export const CHIPS: ChipName[] = ['nrf5340', 'nrf9160', 'nrf9161'];
export const DEVICE_ID = '0123456789abcdef';

export async function simDevice(chip: ChipName, state?: SimDeviceState) {
  const probe = await createSimProbe({ chip, deviceId: DEVICE_ID, state });
  return { ...probe, bootModel: (request?: SimTfmBootRequest) => probe.device.clone().bootTfm(request) };
}

/** The same session, claiming to be a real probe (simulated = false): what a J-Link session looks like. */
export function asRealProbe(session: ProbeSession): ProbeSession {
  return new Proxy(session, {
    get(target, property, receiver) {
      if (property === 'simulated') return false;
      if (property === 'backend') return 'nrfjprog';
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Sim operations that wrote non-volatile memory. */
export function nvmcOperations(ops: Array<{ method: string; nvmc?: boolean }>): number {
  return ops.filter((o) => (o.method === 'write' || o.method === 'writeU32') && o.nvmc === true).length + ops.filter((o) => o.method === 'eraseAll' || o.method === 'erasePage' || o.method === 'recover').length;
}

/**
 * Jest gives each test file a copy of process.env, so assigning it never reaches the C environment
 * that a vendor library (the fake nrfjprog) reads with getenv(). A worker thread with SHARE_ENV has
 * the real process environment: setting the variable there is a real setenv().
 */
export async function exportToNativeEnvironment(name: string, value: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const worker = new Worker(`process.env[${JSON.stringify(name)}] = ${JSON.stringify(value)};`, { eval: true, env: SHARE_ENV });
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`env worker exited with ${code}`))));
  });
}
