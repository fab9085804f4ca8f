/**
 * The KMU (key management unit) of the application core, with the CryptoCell key registers its
 * pushes load. nRF5340 PS / nRF9160 PS KMU chapter (device-facts 5.2):
 * - UICR KEYSLOT words are reachable only while their slot is selected (SELECTKEYSLOT = index + 1);
 *   otherwise reads return 0xDEADDEAD, writes are ignored, and STATUS.BLOCKED is set;
 * - DEST/VALUE are writable only while PERM.WRITE and PERM.STATE are set; each PERM half may be
 *   written only while it is 0xFFFF; clearing PERM.STATE revokes the slot and zeroises its key;
 * - VALUE words of an unreadable or revoked slot read 0xDEADDEAD;
 * - the OTP region (lifecycle, implementation ID) takes a halfword only while it is 0xFFFF;
 * - TASKS_PUSH_KEYSLOT copies a pushable slot's VALUE to the CryptoCell register its DEST names.
 */
import {
  kmuDestAddress,
  kmuPermAddress,
  kmuValueAddress,
  KMU_PERM_PUSH,
  KMU_PERM_READ,
  KMU_PERM_STATE,
  KMU_PERM_WRITE,
  KMU_STATUS_BLOCKED,
  KMU_STATUS_SELECTED,
  KMU_UNREACHABLE,
} from '../targets';
import { hex32, writeU32LE } from '../bytes';
import type { By, PartContext } from './context';
import type { CoreNvm } from './nvm';
import type { SimKmuSlotDump } from './types';

export interface KmuSnapshot {
  selected: number;
  blocked: boolean;
  events: { pushed: number; revoked: number; error: number };
  /** CryptoCell key register address -> its 4 words. */
  cryptocell: Array<[number, Uint32Array]>;
}

export class Kmu {
  /** SELECTKEYSLOT: 0 = none, n = UICR slot index n - 1. */
  selected = 0;
  blocked = false;
  events = { pushed: 0, revoked: 0, error: 0 };
  /** CryptoCell key registers loaded by KMU pushes: address -> 4 words. */
  readonly cryptocell = new Map<number, Uint32Array>();

  constructor(
    private readonly ctx: PartContext,
    /** The application core's NVM, whose UICR holds the key slots. */
    private readonly app: CoreNvm,
  ) {}

  private get t() {
    return this.ctx.target;
  }

  /** UICR slot index of a KEYSLOT word (CONFIG or VALUE), or undefined. */
  slotOf(address: number): number | undefined {
    const k = this.t.kmu;
    const end = this.app.spec.uicrBase + this.app.spec.uicrSize;
    if (address < k.configBase || address >= end) return undefined;
    if (address < k.valueBase) return (address - k.configBase) >>> 3;
    return (address - k.valueBase) >>> 4;
  }

  private inOtp(address: number): boolean {
    const { base, words } = this.t.otp;
    return address >= base && address < base + 4 * words;
  }

  private selectedText(): string {
    return this.selected === 0 ? 'no slot is selected' : `slot ${this.selected - 1} (id ${this.selected}) is selected`;
  }

  private valueText(address: number, value: number): string {
    return this.ctx.isKeyWord('application', address) ? 'a key word' : hex32(value);
  }

  private violate(kind: Parameters<PartContext['violate']>[0], address: number, by: By, message: string, value?: number): void {
    this.blocked = true;
    this.ctx.violate(kind, 'application', address, by, message, value);
  }

  /** A bus read of an application-core UICR word. */
  readUicr(address: number, by: By): number {
    const slot = this.slotOf(address);
    if (slot !== undefined) {
      if (this.selected !== slot + 1) {
        this.violate('KMU_UNSELECTED_ACCESS', address, by, `Read of KMU slot ${slot} word ${hex32(address)} while ${this.selectedText()}: returns 0xDEADDEAD.`);
        return KMU_UNREACHABLE;
      }
      if (address >= this.t.kmu.valueBase) {
        const perm = this.app.uicrWord(kmuPermAddress(this.t, slot));
        // Unreadable or revoked key words read as 0xDEADDEAD (PS); normal for firmware, no violation.
        if (!(perm & KMU_PERM_READ) || !(perm & KMU_PERM_STATE)) return KMU_UNREACHABLE;
      }
    }
    return this.app.uicrWord(address);
  }

  /** A bus write of an application-core UICR word: KMU and OTP rules, then the NVMC's. */
  writeUicr(address: number, value: number, by: By): void {
    const t = this.t;
    const slot = this.slotOf(address);
    if (slot !== undefined && this.selected !== slot + 1) {
      this.violate('KMU_UNSELECTED_ACCESS', address, by, `Write of ${this.valueText(address, value)} to KMU slot ${slot} word ${hex32(address)} while ${this.selectedText()}: ignored.`, value);
      return;
    }
    if (!this.app.modeAllows('uicr', address, value, by)) return;
    const old = this.app.uicrWord(address);
    if (slot !== undefined) {
      const permAddress = kmuPermAddress(t, slot);
      if (address === permAddress) {
        if (rewritesHalf(old, value)) {
          this.violate('PERM_HALF_REWRITE', address, by, `KMU slot ${slot} PERM ${hex32(old)} <- ${hex32(value)}: a PERM half may be written only while it is 0xFFFF. Ignored.`, value);
          return;
        }
      } else {
        const perm = this.app.uicrWord(permAddress);
        if (!(perm & KMU_PERM_WRITE) || !(perm & KMU_PERM_STATE)) {
          this.violate('KMU_SLOT_NOT_WRITABLE', address, by, `Write to KMU slot ${slot} (${hex32(address)}) whose PERM ${hex32(perm)} has WRITE disabled or is revoked: ignored.`, value);
          return;
        }
      }
    } else if (this.inOtp(address) && rewritesHalf(old, value)) {
      this.violate('OTP_HALF_REWRITE', address, by, `OTP ${hex32(address)} ${hex32(old)} <- ${hex32(value)}: a halfword may be written only while it is 0xFFFF (mask the other half as 0xFFFF). Ignored.`, value);
      return;
    }
    this.app.program('uicr', address, value, by);
    if (slot !== undefined && address === kmuPermAddress(t, slot)) {
      const now = this.app.uicrWord(address);
      if (old & KMU_PERM_STATE && !(now & KMU_PERM_STATE)) {
        // Revocation zeroises the key (PS); reads then return 0xDEADDEAD.
        for (let o = 0; o < 4; o++) this.app.uicr[(kmuValueAddress(t, slot) + 4 * o - this.app.spec.uicrBase) >>> 2] = 0;
        this.events.revoked = 1;
      }
    }
  }

  private isCryptocellKey(address: number): boolean {
    return this.t.cryptocell.aesKeyAddresses.some((a) => address >= a && address < a + 16);
  }

  /** KMU register read (and the write-only CryptoCell key registers), or undefined. */
  readRegister(address: number): number | undefined {
    const k = this.t.kmu;
    if (address === k.status) return (this.selected ? KMU_STATUS_SELECTED : 0) | (this.blocked ? KMU_STATUS_BLOCKED : 0);
    if (address === k.selectKeySlot) return this.selected;
    if (address === k.eventsPushed) return this.events.pushed;
    if (address === k.eventsRevoked) return this.events.revoked;
    if (address === k.eventsError) return this.events.error;
    if (address === k.tasksPushKeyslot) return 0;
    // CryptoCell key registers are write-only from the bus.
    if (this.isCryptocellKey(address)) return 0;
    return undefined;
  }

  /** KMU register write; false for any other address. */
  writeRegister(address: number, value: number, by: By): boolean {
    const k = this.t.kmu;
    if (address === k.selectKeySlot) {
      const id = value & 0xff;
      this.blocked = false;
      if (id > k.slotCount || value >>> 8) {
        this.selected = 0;
        this.violate('KMU_INVALID_SLOT', address, by, `SELECTKEYSLOT = ${value}: slot ids are 1..${k.slotCount} (0 = none).`, value);
        return true;
      }
      this.selected = id;
      return true;
    }
    if (address === k.tasksPushKeyslot) {
      if (value & 1) this.push(by);
      return true;
    }
    if (address === k.eventsPushed) this.events.pushed = value & 1;
    else if (address === k.eventsRevoked) this.events.revoked = value & 1;
    else if (address === k.eventsError) this.events.error = value & 1;
    else if (address !== k.status && !this.isCryptocellKey(address)) return false;
    return true;
  }

  private push(by: By): void {
    const t = this.t;
    const id = this.selected;
    const fail = (why: string): void => {
      this.events.error = 1;
      this.ctx.violate('KMU_PUSH_NOT_ALLOWED', 'application', t.kmu.tasksPushKeyslot, by, `TASKS_PUSH_KEYSLOT refused: ${why}.`);
    };
    if (id === 0) return fail('no slot is selected');
    const slot = id - 1;
    const perm = this.app.uicrWord(kmuPermAddress(t, slot));
    const dest = this.app.uicrWord(kmuDestAddress(t, slot));
    if (!(perm & KMU_PERM_STATE)) return fail(`slot ${slot} is revoked`);
    if (!(perm & KMU_PERM_PUSH)) return fail(`slot ${slot} PERM ${hex32(perm)} has PUSH disabled`);
    if (!t.cryptocell.aesKeyAddresses.includes(dest)) return fail(`slot ${slot} DEST ${hex32(dest)} is not a CryptoCell key register`);
    const words = new Uint32Array(4);
    for (let o = 0; o < 4; o++) words[o] = this.app.uicrWord(kmuValueAddress(t, slot) + 4 * o);
    this.cryptocell.get(dest)?.fill(0);
    this.cryptocell.set(dest, words);
    this.events.pushed = 1;
  }

  /** The CryptoCell key register loaded by the last KMU push to `address`, if any (a copy). */
  cryptocellKey(address: number): Uint8Array | undefined {
    const words = this.cryptocell.get(address >>> 0);
    if (!words) return undefined;
    const out = new Uint8Array(16);
    words.forEach((w, i) => writeU32LE(out, 4 * i, w));
    return out;
  }

  /** Chip-off view of one slot (no selection or PERM rules). */
  slotDump(index: number): SimKmuSlotDump {
    const t = this.t;
    const value = new Uint8Array(16);
    for (let o = 0; o < 4; o++) writeU32LE(value, 4 * o, this.app.uicrWord(kmuValueAddress(t, index) + 4 * o));
    return { index, dest: this.app.uicrWord(kmuDestAddress(t, index)), perm: this.app.uicrWord(kmuPermAddress(t, index)), value };
  }

  /** System reset: no slot selected, events clear, CryptoCell key registers zeroed. */
  reset(): void {
    this.selected = 0;
    this.blocked = false;
    this.events = { pushed: 0, revoked: 0, error: 0 };
    for (const words of this.cryptocell.values()) words.fill(0);
    this.cryptocell.clear();
  }

  snapshot(): KmuSnapshot {
    return { selected: this.selected, blocked: this.blocked, events: { ...this.events }, cryptocell: [...this.cryptocell.entries()].map(([a, w]) => [a, Uint32Array.from(w)]) };
  }

  restore(s: KmuSnapshot): void {
    this.reset();
    this.selected = s.selected;
    this.blocked = s.blocked;
    this.events = { ...s.events };
    for (const [a, w] of s.cryptocell) this.cryptocell.set(a, Uint32Array.from(w));
  }
}

/** True when writing `value` over `old` would write a halfword that is no longer 0xFFFF. */
function rewritesHalf(old: number, value: number): boolean {
  for (const shift of [0, 16]) {
    const half = (value >>> shift) & 0xffff;
    if (half !== 0xffff && ((old >>> shift) & 0xffff) !== 0xffff) return true;
  }
  return false;
}
