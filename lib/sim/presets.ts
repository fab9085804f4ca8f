/**
 * Named starting points for simulated devices (the CLI's `sim create --state`). The realistic ones
 * are produced by running the firmware models, not by writing "expected" words, so a preset device
 * is exactly what the stock sample and TF-M would leave.
 */
import { TfmError } from '../errors';
import { cryptoRandom, seededRandom, type RandomSource } from '../random';
import { getTarget, KMU_PERM_HUK, type ChipName } from '../targets';
import { bytesFrom, toHex } from '../bytes';
import { SimulatedDevice } from './device';

export const SIM_PRESETS = {
  assembly: 'fresh from the factory: lifecycle ASSEMBLY, KMU empty, debug open (the default)',
  provisioning: 'lifecycle PROVISIONING only (no keys): what a tool that stopped after the lifecycle step leaves',
  partial: 'lifecycle PROVISIONING with MKEK and MEXT written but no identity key (an interrupted run)',
  provisioned: 'what the stock provisioning image leaves: PROVISIONING, HUKs, identity key, implementation ID, nRF5340 network core locked',
  secured: 'provisioned, then TF-M first boot: lifecycle SECURED, APPROTECT set (debug locked)',
  decommissioned: 'lifecycle DECOMMISSIONED',
  protected: 'lifecycle ASSEMBLY but UICR.APPROTECT set: the access port is locked',
  'erase-protected': 'lifecycle ASSEMBLY with UICR.ERASEPROTECT set: erase-all is impossible',
  'network-locked': 'nRF5340: network-core UICR.APPROTECT set',
  'network-released': 'nRF5340: RESET.NETWORK.FORCEOFF released (network core powered and reachable)',
} as const;

export type SimPreset = keyof typeof SIM_PRESETS;

export function isSimPreset(value: unknown): value is SimPreset {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(SIM_PRESETS, value);
}

export function createPresetDevice(options: { chip: ChipName; preset: SimPreset; deviceId?: string | Uint8Array; random?: RandomSource }): SimulatedDevice {
  const { chip, preset } = options;
  const base = { chip, deviceId: options.deviceId, random: options.random };
  const networkOnly = (): void => {
    if (chip !== 'nrf5340') throw new TfmError('USAGE', `State "${preset}" needs a network core; ${chip} has none.`);
  };
  switch (preset) {
    case 'assembly':
      return SimulatedDevice.create(base);
    case 'provisioning':
      return SimulatedDevice.create({ ...base, state: { lifecycle: 'PROVISIONING' } });
    case 'decommissioned':
      return SimulatedDevice.create({ ...base, state: { lifecycle: 'DECOMMISSIONED' } });
    case 'partial': {
      // MKEK and MEXT as the sample writes them, from the device's own seeded randomness.
      const id = options.deviceId !== undefined ? bytesFrom(options.deviceId, 8, 'Device ID') : (options.random ?? cryptoRandom).fill(new Uint8Array(8));
      const random = options.random ?? seededRandom(`tfm-provision-sim:${toHex(id)}`);
      const t = getTarget(chip);
      const hukSlots = [...t.huk.mkek, ...t.huk.mext];
      const keys = random.fill(new Uint8Array(16 * hukSlots.length));
      const kmuSlots = hukSlots.map((s, i) => ({ index: s.index, dest: s.dest, perm: KMU_PERM_HUK, value: keys.slice(16 * i, 16 * i + 16) }));
      keys.fill(0);
      const device = SimulatedDevice.create({ chip, deviceId: id, random, state: { lifecycle: 'PROVISIONING', kmuSlots } });
      for (const slot of kmuSlots) slot.value.fill(0);
      return device;
    }
    case 'provisioned':
    case 'secured': {
      const device = SimulatedDevice.create(base);
      const result = device.runFirmwareModel('provisioning-image');
      if (!result.ok) throw new TfmError('INTERNAL_ERROR', `The provisioning image model failed on a fresh device: ${result.message}`);
      if (device.target.network) device.runFirmwareModel('network-image');
      if (preset === 'secured') {
        const boot = device.bootTfm();
        if (!boot.ok) throw new TfmError('INTERNAL_ERROR', `The TF-M boot model failed on a provisioned device: ${boot.message}`);
      }
      return device;
    }
    case 'protected':
      return SimulatedDevice.create({ ...base, state: { approtect: true } });
    case 'erase-protected':
      return SimulatedDevice.create({ ...base, state: { eraseProtect: true } });
    case 'network-locked':
      networkOnly();
      return SimulatedDevice.create({ ...base, state: { networkApprotect: true } });
    case 'network-released':
      networkOnly();
      return SimulatedDevice.create({ ...base, state: { networkForcedOff: false } });
  }
}
