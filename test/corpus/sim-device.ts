/**
 * Builds the simulated device a corpus case starts from, and takes its chip-off dump.
 * Setup steps go through the probe contract on a SimBinding, the way a debugger (or firmware that
 * went wrong) would have put the device in that state.
 */
import { SimBinding, SimulatedDevice, createPresetDevice, isSimPreset } from '../../lib/sim';
import type { ProbeSession } from '../../lib/probe/types';
import type { ChipName, Target } from '../../lib/targets';
import type { DeviceSpec, SetupStep } from './case-format';
import { resolveAddress } from './driver';

const SETUP_SERIAL = 1000;


async function applyStep(session: ProbeSession, target: Target, step: SetupStep): Promise<void> {
  const value = (text: string): number => parseInt(text, 16) >>> 0;
  if ('write' in step) {
    if (step.core === 'network') await session.selectCore('network');
    await session.writeU32(resolveAddress(target, step.write), value(step.value), { nvmc: true });
    if (step.core === 'network') await session.selectCore('application');
  } else if ('register' in step) {
    await session.writeU32(resolveAddress(target, step.register), value(step.value));
  } else if ('kmu' in step) {
    const slot = step.kmu;
    await session.writeU32(target.kmu.selectKeySlot, slot + 1);
    if (step.dest !== undefined) await session.writeU32(target.kmu.configBase + 8 * slot, value(step.dest), { nvmc: true });
    for (const [i, word] of (step.value ?? []).entries()) {
      await session.writeU32(target.kmu.valueBase + 16 * slot + 4 * i, value(word), { nvmc: true });
    }
    if (step.perm !== undefined) await session.writeU32(target.kmu.configBase + 8 * slot + 4, value(step.perm), { nvmc: true });
    await session.writeU32(target.kmu.selectKeySlot, 0);
  } else if ('reset' in step) {
    await session.reset(step.reset);
  }
}

/** Creates the device of `spec`, applies its setup steps through a probe, and saves it to `file`. */
export async function createSimDevice(file: string, spec: DeviceSpec): Promise<void> {
  const preset = spec.state ?? 'assembly';
  if (!isSimPreset(preset)) throw new Error(`corpus: unknown simulator preset "${preset}"`);
  const device = createPresetDevice({ chip: spec.chip as ChipName, preset, deviceId: spec.deviceId ?? '0123456789abcdef' });
  if (spec.setup?.length) {
    const binding = new SimBinding();
    binding.attach(SETUP_SERIAL, device);
    const session = await binding.open(SETUP_SERIAL);
    try {
      for (const step of spec.setup) await applyStep(session, device.target, step);
    } finally {
      await session.close();
    }
    if (device.violations.length > 0) {
      throw new Error(`corpus: the setup of this device broke simulator rules: ${device.violations.map((v) => v.message).join('; ')}`);
    }
  }
  device.save(file);
}

/** Chip-off dump (FICR, UICR of every core, non-erased flash) as Intel HEX. */
export async function dumpSimDevice(file: string): Promise<string> {
  return SimulatedDevice.load(file).dumpHex({ withFlash: true });
}
