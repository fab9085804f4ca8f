/**
 * A RandomSource that remembers what it handed out, for two checks:
 * - the bytes (copies) are the secrets the hygiene scan searches for: MKEK, MEXT and the identity
 *   key all come from `options.random`;
 * - the buffers themselves (references) must be all zero once provision() has returned or thrown.
 */
import type { RandomSource } from '../../lib/random';

export interface RandomDraw {
  /** The caller's buffer, kept by reference to check that it was zeroed. */
  target: Uint8Array;
  /** What was written into it. */
  copy: Uint8Array;
  /** Position of this draw in the run (0-based). */
  index: number;
}

export class RecordingRandom implements RandomSource {
  readonly draws: RandomDraw[] = [];

  constructor(private readonly inner: RandomSource) {}

  get kind(): RandomSource['kind'] {
    return this.inner.kind;
  }

  fill(target: Uint8Array): Uint8Array {
    const result = this.inner.fill(target);
    this.draws.push({ target, copy: Uint8Array.from(target), index: this.draws.length });
    return result;
  }

  /** Draws whose buffers still hold non-zero bytes. */
  notZeroed(): RandomDraw[] {
    return this.draws.filter((d) => d.target.some((b) => b !== 0));
  }

  /** Wipes the recorded copies (the test's own hygiene). */
  wipe(): void {
    for (const d of this.draws) d.copy.fill(0);
  }
}
