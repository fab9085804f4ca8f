/**
 * The fake nrfjprog library without its "I am a fake" marker symbol: to the addon (and so to the
 * CLI) its sessions look like a real probe (`simulated: false`). The CLI rules that apply only to
 * real probes (typed confirmation, no seeded keys, no model wrapper without opt-in) are tested
 * through it. Built from the same source with the marker renamed by the preprocessor, next to the
 * other fakes so it reads the same per-process configuration file.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildFakes, outputDir, MODEL_DIR, MODEL_SOURCES, MODEL_INPUTS } = require('../../../scripts/build-fakes.js') as {
  buildFakes(o?: { quiet?: boolean }): unknown;
  outputDir: string;
  MODEL_DIR: string;
  MODEL_SOURCES: string[];
  MODEL_INPUTS: string[];
};

const SOURCE = path.resolve(__dirname, '../../fixtures/fake-nrfjprog/fake_nrfjprog.c');

export function unmarkedFakeLibrary(): string {
  buildFakes({ quiet: true });
  const output = path.join(outputDir, `libfake_nrfjprog_unmarked${process.platform === 'darwin' ? '.dylib' : '.so'}`);
  if (fs.existsSync(output) && [SOURCE, ...MODEL_INPUTS].every((input) => fs.statSync(output).mtimeMs >= fs.statSync(input).mtimeMs)) return output;
  const partial = `${output}.${process.pid}.tmp`;
  const args = ['-std=c11', '-O2', '-fPIC', '-shared', '-fvisibility=hidden', '-Dtfm_provision_fake_vendor_library=tfm_provision_unmarked_library', '-o', partial, SOURCE, `-I${MODEL_DIR}`, ...MODEL_SOURCES];
  if (process.platform === 'linux') args.push('-lpthread');
  execFileSync(process.env.CC || 'cc', args, { stdio: 'pipe' });
  fs.renameSync(partial, output);
  return output;
}
