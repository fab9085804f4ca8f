/**
 * Helpers of the key-hygiene suites: snapshots of captured output (taken when it is emitted, so a
 * key buffer that leaked into an event and is zeroed later is still caught), and the secrets a
 * device holds (read chip-off, so keys made on the chip by the image strategy count too).
 */
import { inspect } from 'node:util';
import { deriveModelKek, unwrapIdentityKeyModel } from '../../lib/keys/wrapping-model';
import type { RandomSource } from '../../lib/random';
import { seededRandom } from '../../lib/random';
import type { SimulatedDevice } from '../../lib/sim';
import { getTarget, type ChipName, type KmuSlotSpec } from '../../lib/targets';
import { oracleIsScalar, oraclePublicKey } from '../support/p256-oracle';
import type { NamedSecret } from './secret-scanner';

/** A deep copy that keeps what a scan needs (bytes copied, errors with message/stack/cause). */
export function snapshot(value: unknown, seen = new Map<unknown, unknown>()): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? undefined : value;
  if (seen.has(value)) return seen.get(value);
  if (ArrayBuffer.isView(value)) return Uint8Array.from(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  if (value instanceof ArrayBuffer) return Uint8Array.from(new Uint8Array(value));
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const item of value) out.push(snapshot(item, seen));
    return out;
  }
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  if (value instanceof Error) {
    out.name = value.name;
    out.message = value.message;
    out.stack = value.stack;
    out.cause = snapshot((value as { cause?: unknown }).cause, seen);
  }
  if (value instanceof Map) {
    out.entries = snapshot([...value.entries()], seen);
    return out;
  }
  for (const key of Object.keys(value)) {
    try {
      out[key] = snapshot((value as Record<string, unknown>)[key], seen);
    } catch {
      // a throwing getter is not output
    }
  }
  return out;
}

/** Everything a scan looks at for one captured item: the structure and its printed forms. */
export function renderings(value: unknown): unknown[] {
  let json: string | undefined;
  try {
    json = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    json = undefined;
  }
  return [snapshot(value), inspect(value, { depth: Infinity, maxArrayLength: Infinity, maxStringLength: Infinity, breakLength: Infinity }), json, String(value)];
}

/** Collects captured output under names, for one scan at the end. */
export class Capture {
  readonly items: Array<{ name: string; value: unknown }> = [];
  add(name: string, value: unknown): void {
    this.items.push({ name, value: renderings(value) });
  }
  get count(): number {
    return this.items.length;
  }
}

const erased = (bytes: Uint8Array): boolean => bytes.every((b) => b === 0xff);

function slotBytes(device: SimulatedDevice, slots: readonly KmuSlotSpec[]): Uint8Array | undefined {
  const parts = slots.map((s) => device.kmuSlot(s.index).value);
  if (parts.some(erased)) return undefined;
  return Uint8Array.from(Buffer.concat(parts.map((p) => Buffer.from(p))));
}

/**
 * The key material on a simulated device, read chip-off: MKEK, MEXT, the identity private key
 * (unwrapped from slots 6/7 with the wrapping model) and the model's KEK.
 */
export function deviceSecrets(device: SimulatedDevice, label: string): NamedSecret[] {
  const target = device.target;
  const secrets: NamedSecret[] = [];
  const mkek = slotBytes(device, target.huk.mkek);
  const mext = slotBytes(device, target.huk.mext);
  const blob = slotBytes(device, target.identityKey.slots);
  if (mkek) secrets.push({ label: `${label} MKEK`, bytes: mkek });
  if (mext) secrets.push({ label: `${label} MEXT`, bytes: mext });
  if (mkek) {
    const deviceId = Buffer.from(device.deviceId, 'hex');
    secrets.push({ label: `${label} identity KEK`, bytes: deriveModelKek(mkek, deviceId) });
    if (blob) secrets.push({ label: `${label} identity key`, bytes: unwrapIdentityKeyModel(mkek, deviceId, blob) });
  }
  return secrets;
}

/** The uncompressed public key (hex) of a 32-byte private scalar, to check a secret is the real key. */
export function publicKeyHex(privateKey: Uint8Array): string {
  return Buffer.from(oraclePublicKey(privateKey)).toString('hex');
}

/**
 * The keys a seeded CLI run draws, replayed from the same seed: the HUK block (MKEK then MEXT),
 * then the identity scalar (rejection-sampled as lib/keys/identity.ts does).
 */
export function seededSecrets(seed: string, chip: ChipName, label: string): NamedSecret[] {
  const random: RandomSource = seededRandom(seed);
  const size = getTarget(chip).huk.size;
  const block = random.fill(new Uint8Array(2 * size));
  const d = new Uint8Array(32);
  do random.fill(d);
  while (!oracleIsScalar(d));
  return [
    { label: `${label} MKEK (seed ${seed})`, bytes: block.slice(0, size) },
    { label: `${label} MEXT (seed ${seed})`, bytes: block.slice(size) },
    { label: `${label} identity key (seed ${seed})`, bytes: d },
  ];
}
