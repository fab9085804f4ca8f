/**
 * Where key material comes from. Real runs use the OS CSPRNG. A seeded source exists so the
 * simulator and the fake vendor library give repeatable runs; provisioning refuses it on any
 * session that is not simulated (SEEDED_RANDOM_REFUSED).
 *
 * Which sources are acceptable on a real device is decided here by identity, never by what a
 * source says about itself: `kind` is a description, and any object can claim 'csprng'. On a
 * session that is not simulated, provisioning accepts only `cryptoRandom` itself or a source the
 * caller vouched for with trustedRandomSource(); a seededRandom() source is recognised as such
 * even when it claims otherwise.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { TfmError } from './errors';

export interface RandomSource {
  /** What the source says it is (informative only: provisioning does not trust it). */
  readonly kind: 'csprng' | 'seeded';
  /** Fills `target` with random bytes and returns it. */
  fill(target: Uint8Array): Uint8Array;
}

/** Sources made by seededRandom(): deterministic, refused on real devices whatever they claim. */
const seededSources = new WeakSet<RandomSource>();
/** Sources the caller vouched for with trustedRandomSource(). */
const trustedSources = new WeakSet<RandomSource>();

export const cryptoRandom: RandomSource = Object.freeze({
  kind: 'csprng' as const,
  fill(target: Uint8Array): Uint8Array {
    return randomFillSync(target);
  },
});

/** Deterministic stream: SHA-256(seed || counter_be32) blocks. For simulated devices only. */
export function seededRandom(seed: string | number | Uint8Array): RandomSource {
  const seedBytes = typeof seed === 'string' || typeof seed === 'number' ? Buffer.from(String(seed), 'utf8') : Buffer.from(seed);
  let counter = 0;
  let pool = Buffer.alloc(0);
  const source: RandomSource = Object.freeze({
    kind: 'seeded' as const,
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
  });
  seededSources.add(source);
  return source;
}

/**
 * Vouches for your own source of key material (an HSM, a certified hardware RNG) so that
 * provisioning accepts it on real devices. By calling this YOU TAKE RESPONSIBILITY that `source` is
 * a cryptographically secure, unpredictable generator: MKEK, MEXT and the identity key of every
 * device come from it, and nothing here can check that. Returns a wrapper to pass as `random`; the
 * source itself is not modified. A seededRandom() source is refused (SEEDED_RANDOM_REFUSED).
 */
export function trustedRandomSource(source: RandomSource): RandomSource {
  if (typeof source !== 'object' || source === null || typeof source.fill !== 'function') {
    throw new TfmError('INVALID_PARAMETER', 'trustedRandomSource() needs a RandomSource: an object with a fill(target) method.');
  }
  if (seededSources.has(source)) {
    throw new TfmError('SEEDED_RANDOM_REFUSED', 'A seeded (deterministic) random source cannot be trusted for real devices.');
  }
  if (source === cryptoRandom || trustedSources.has(source)) return source;
  const trusted: RandomSource = Object.freeze({
    kind: 'csprng' as const,
    fill(target: Uint8Array): Uint8Array {
      source.fill(target);
      return target;
    },
  });
  trustedSources.add(trusted);
  return trusted;
}

/**
 * How provisioning classifies a source, by identity: 'os' (cryptoRandom), 'trusted'
 * (trustedRandomSource), 'seeded' (seededRandom), or 'unknown' (anything else, including objects
 * that claim kind 'csprng').
 */
export function randomSourceOrigin(source: RandomSource): 'os' | 'trusted' | 'seeded' | 'unknown' {
  if (source === cryptoRandom) return 'os';
  if (seededSources.has(source)) return 'seeded';
  if (trustedSources.has(source)) return 'trusted';
  return 'unknown';
}
