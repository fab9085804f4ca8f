/**
 * Where key material comes from. Real runs use the OS CSPRNG. A seeded source exists so the
 * simulator and the fake vendor library give repeatable runs; provisioning refuses it on any
 * session that is not simulated (SEEDED_RANDOM_REFUSED).
 */
import { createHash, randomFillSync } from 'node:crypto';

export interface RandomSource {
  readonly kind: 'csprng' | 'seeded';
  /** Fills `target` with random bytes and returns it. */
  fill(target: Uint8Array): Uint8Array;
}

export const cryptoRandom: RandomSource = {
  kind: 'csprng',
  fill(target: Uint8Array): Uint8Array {
    return randomFillSync(target);
  },
};

/** Deterministic stream: SHA-256(seed || counter_be32) blocks. For simulated devices only. */
export function seededRandom(seed: string | number | Uint8Array): RandomSource {
  const seedBytes = typeof seed === 'string' || typeof seed === 'number' ? Buffer.from(String(seed), 'utf8') : Buffer.from(seed);
  let counter = 0;
  let pool = Buffer.alloc(0);
  return {
    kind: 'seeded',
    fill(target: Uint8Array): Uint8Array {
      let offset = 0;
      while (offset < target.length) {
        if (pool.length === 0) {
          const block = Buffer.alloc(4);
          block.writeUInt32BE(counter++ >>> 0, 0);
          pool = createHash('sha256').update(seedBytes).update(block).digest();
        }
        const n = Math.min(pool.length, target.length - offset);
        target.set(pool.subarray(0, n), offset);
        pool.fill(0, 0, n);
        pool = pool.subarray(n);
        offset += n;
      }
      return target;
    },
  };
}
