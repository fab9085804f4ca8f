/**
 * A tiny in-test ProbeSession: flat memory per core (erased = 0xFF), KMU selection and READ gating
 * (0xDEADDEAD), FICR words and FORCEOFF. Just enough to pin down what device/ sends to a probe; the
 * provisioning tests use the real simulator.
 */
import { ProbeError } from '../../lib/errors';
import type { CoreName, ProbeSession, WriteOptions } from '../../lib/probe/types';
import { KMU_PERM_READ, type Target } from '../../lib/targets';

export interface FakeCall {
  method: string;
  core: CoreName;
  address?: number;
  length?: number;
  value?: number;
  nvmc?: boolean;
}

export class FakeSession implements ProbeSession {
  readonly serialNumber = 1;
  readonly backend = 'sim' as const;
  readonly calls: FakeCall[] = [];
  private core: CoreName = 'application';
  private readonly memory: Record<string, Map<number, number>> = { application: new Map(), network: new Map() };
  private selected = 0;
  networkLocked = false;

  constructor(
    readonly target: Target,
    readonly simulated = true,
    deviceId = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef],
  ) {
    const part = target.parts[0];
    if (target.ficr.part !== undefined) this.poke(target.ficr.part, part);
    if (target.ficr.sipPartNo !== undefined) this.poke(target.ficr.sipPartNo, part);
    // The bytes silicon holds: nRF5340 INFO.VARIANT is a uint32_t 'QKAA' = 0x514B4141 (nrf5340_application.h);
    // nRF91 SIPINFO.VARIANT a uint8_t[4] whose first character is at the lowest address (nrf9160.h).
    if (target.family === 'NRF53') this.poke(target.ficr.variant, 0x514b4141);
    else Buffer.from(target.ficr.typicalVariant, 'latin1').forEach((b, i) => this.memory.application.set(target.ficr.variant + i, b));
    deviceId.forEach((b, i) => this.memory.application.set(target.ficr.deviceId0 + i, b));
    if (target.network) this.poke(target.network.forceOff, 1);
  }

  poke(address: number, value: number, core: CoreName = 'application'): void {
    for (let i = 0; i < 4; i++) this.memory[core].set(address + i, (value >>> (8 * i)) & 0xff);
  }

  peek(address: number, core: CoreName = 'application'): number {
    let v = 0;
    for (let i = 0; i < 4; i++) v |= (this.memory[core].get(address + i) ?? 0xff) << (8 * i);
    return v >>> 0;
  }

  private slotOf(address: number): number | undefined {
    const t = this.target;
    if (this.core !== 'application') return undefined;
    if (address >= t.kmu.configBase && address < t.kmu.configBase + 8 * t.kmu.slotCount) return Math.floor((address - t.kmu.configBase) / 8);
    if (address >= t.kmu.valueBase && address < t.kmu.valueBase + 16 * t.kmu.slotCount) return Math.floor((address - t.kmu.valueBase) / 16);
    return undefined;
  }

  private readByte(address: number): number {
    const slot = this.slotOf(address);
    if (slot !== undefined) {
      if (this.selected !== slot + 1) return [0xad, 0xde][address & 1];
      const isValue = address >= this.target.kmu.valueBase;
      if (isValue && (this.peek(this.target.kmu.configBase + 8 * slot + 4) & KMU_PERM_READ) === 0) return [0xad, 0xde][address & 1];
    }
    return this.memory[this.core].get(address) ?? 0xff;
  }

  private writeByte(address: number, value: number): void {
    const slot = this.slotOf(address);
    if (slot !== undefined && this.selected !== slot + 1) return;
    // Flash semantics: bits only go from 1 to 0.
    this.memory[this.core].set(address, (this.memory[this.core].get(address) ?? 0xff) & value);
  }

  async deviceInfo() {
    this.calls.push({ method: 'deviceInfo', core: this.core });
    return { family: this.target.family };
  }
  async selectCore(core: CoreName): Promise<void> {
    this.calls.push({ method: 'selectCore', core });
    if (core === 'network' && this.target.network && (this.peek(this.target.network.forceOff) & 1) === 1) {
      throw new ProbeError('NETWORK_CORE_FORCED_OFF', 'forced off');
    }
    this.core = core;
  }
  async read(address: number, length: number): Promise<Uint8Array> {
    this.calls.push({ method: 'read', core: this.core, address, length });
    if (this.core === 'network' && this.networkLocked) throw new ProbeError('DEVICE_PROTECTED', 'AP1 locked');
    return Uint8Array.from({ length }, (_, i) => this.readByte(address + i));
  }
  async write(address: number, data: Uint8Array, options?: WriteOptions): Promise<void> {
    this.calls.push({ method: 'write', core: this.core, address, length: data.length, nvmc: options?.nvmc ?? false });
    data.forEach((b, i) => this.writeByte(address + i, b));
  }
  async readU32(address: number): Promise<number> {
    this.calls.push({ method: 'readU32', core: this.core, address });
    if (this.core === 'network' && this.networkLocked) throw new ProbeError('DEVICE_PROTECTED', 'AP1 locked');
    const b = Uint8Array.from({ length: 4 }, (_, i) => this.readByte(address + i));
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }
  async writeU32(address: number, value: number, options?: WriteOptions): Promise<void> {
    this.calls.push({ method: 'writeU32', core: this.core, address, value, nvmc: options?.nvmc ?? false });
    if (address === this.target.kmu.selectKeySlot && this.core === 'application') {
      this.selected = value;
      return;
    }
    if (this.target.network && address === this.target.network.forceOff && this.core === 'application') {
      this.poke(address, value);
      return;
    }
    for (let i = 0; i < 4; i++) this.writeByte(address + i, (value >>> (8 * i)) & 0xff);
  }
  async erasePage(): Promise<void> {}
  async eraseAll(): Promise<void> {}
  async recover(): Promise<void> {}
  async readAccessPort(): Promise<number> {
    return 0;
  }
  async writeAccessPort(): Promise<void> {}
  async reset(): Promise<void> {}
  async halt(): Promise<void> {}
  async go(): Promise<void> {}
  onLog(): () => void {
    return () => undefined;
  }
  async close(): Promise<void> {}
}
