/**
 * The bad-input corpus: one JSON file per case in test/corpus/cases/. A case is a command line
 * run against the built CLI (`node dist/cli/main.js ...`), optionally on a simulated device that
 * the driver builds first, and optionally with input files that the driver generates.
 *
 *   {
 *     "name": "what is wrong, in a few words",
 *     "why": "what the tool must protect against (optional)",
 *     "device": { "chip": "nrf5340", "state": "assembly", "setup": [ ...probe operations... ] },
 *     "files": { "image.hex": { ...file spec... } },
 *     "argv": ["provision", "--sim", "{sim}", "--json"],
 *     "expectedCode": "LIFECYCLE_INVALID",
 *     "refusedBeforeWriting": true,
 *     "exit": 3                                  (optional: defaults from the code's category)
 *   }
 * Optional: "unknownArgument": true for cases about an unknown command or option; "knownIssue":
 * { "what": "...", "checks": ["exit", "dump"] } for a defect not fixed yet (those checks run as
 * test.failing, so they turn red when it is fixed).
 *
 * argv placeholders: {sim} the device's state file, {dir} the case's scratch directory,
 * {file:NAME} a generated file, {brokenLibrary:KIND} a broken fake vendor library,
 * {repeat:TEXT:N} TEXT repeated N times (hostile lengths without a huge case file).
 *
 * A device setup step is one probe operation, done through the ProbeSession contract on the
 * simulator (so the state is reachable the way a real device reaches it, not poked into a file):
 *   { "write": ADDRESS, "value": V }            32-bit write through the NVMC (UICR, OTP, flash)
 *   { "write": ADDRESS, "value": V, "core": "network" }   the same on the nRF5340 network core
 *   { "register": ADDRESS, "value": V }         plain bus write (peripheral register)
 *   { "kmu": N, "dest"?: V, "value"?: [V...], "perm"?: V }   select slot N (id N+1), write the
 *                                               given fields through the NVMC, deselect
 *   { "reset": "system" | "debug" | "pin" }
 * ADDRESS is a path into the chip's target data ("lifecycle.provisioning", "uicr.eraseProtect",
 * "network.approtect", "implementationId.address") with an optional "+0xN" offset, or a number
 * as hex text. Values are hex text.
 */
import type { HexCorruption, JsonCorruption, RecordCorruption } from './generators';

export type SetupStep =
  | { write: string; value: string; core?: 'application' | 'network' }
  | { register: string; value: string }
  | { kmu: number; dest?: string; value?: string[]; perm?: string }
  | { reset: 'system' | 'debug' | 'pin' };

export interface DeviceSpec {
  chip: string;
  /** Simulator preset (lib/sim/presets.ts; "assembly" unless given). */
  state?: string;
  deviceId?: string;
  setup?: SetupStep[];
  /** Where the state file goes, relative to the case directory (default "device.json"); a
   *  simulated fleet (--sim-state-dir DIR) finds its devices at DIR/<serial>.json. */
  file?: string;
}

export type FileSpec =
  /** Literal text. */
  | { text: string }
  /** Intel HEX built from segments (address as in SetupStep), then optionally corrupted. */
  | {
      hex: Array<{ address: string; provisioningImage?: number; fill?: string; length?: number }>;
      chip?: string;
      corrupt?: HexCorruption;
    }
  /** A valid record chain of N lines, then optionally corrupted. */
  | { records: number; corrupt?: RecordCorruption }
  /** A simulator state file (as `sim create` writes it), then corrupted. */
  | { simState: DeviceSpec; corrupt: JsonCorruption };

export interface CorpusCase {
  name: string;
  why?: string;
  device?: DeviceSpec;
  files?: Record<string, FileSpec>;
  argv: string[];
  expectedCode: string;
  refusedBeforeWriting: boolean;
  exit?: number;
  /** The case is about an unknown command or option. Every other case must be rejected by the
   *  command it names, not pass because commander does not know that command (yet). */
  unknownArgument?: boolean;
  /** A known defect: the named checks run with test.failing, so they turn red once the defect is
   *  fixed and the marker must be removed. `what` says what is wrong. */
  knownIssue?: { what: string; checks: Array<'code' | 'exit' | 'dump'> };
  /** File the case was read from (set by the loader). */
  file?: string;
}
