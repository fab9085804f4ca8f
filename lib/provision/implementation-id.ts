/**
 * Which implementation IDs a run may write. The sample writes the 32 bytes as 8 OTP words with
 * nrfx_nvmc_words_write (provision_implementation_id(), reference/device-facts.md step 11), and an
 * OTP word still erased reads 0xFFFFFFFF. A word of the ID that is 0xFFFFFFFF is therefore never
 * written: the device reads as if the step had not run, `verify` cannot tell written from erased,
 * and a later plain re-run would write the default ID over it. Documents are silent on whether
 * the sample means to allow that; the stricter choice is to refuse such an ID.
 */
import { wordAt } from '../bytes';

/** Why this ID cannot be written as the sample would (a sentence fragment), or undefined. */
export function implementationIdProblem(id: Uint8Array): string | undefined {
  if (id.length !== 32) return `must be 32 bytes (got ${id.length})`;
  const erased: number[] = [];
  for (let word = 0; word < 8; word++) if (wordAt(id, word * 4) === 0xffffffff) erased.push(word);
  if (erased.length === 0) return undefined;
  return `has ${erased.length === 8 ? 'every word' : `word${erased.length === 1 ? '' : 's'} ${erased.join(', ')}`} equal to 0xFFFFFFFF, which is what erased OTP reads: such a word is never written, so the device would read as if the ID were missing. Choose an ID with no all-ones 32-bit word.`;
}
