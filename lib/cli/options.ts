/**
 * Option parsing the commands share: the implementation ID, a user's identity key wrapper module,
 * the default record file. Commands import these from here, never from each other.
 */
import * as path from 'node:path';
import { TfmError } from '../errors';
import { fromHex } from '../bytes';
import { getTarget } from '../targets';
import { implementationIdProblem } from '../provision/implementation-id';
import { instanceIdFormulaForTfm } from '../keys/instance-id';
import { isIdentityKeyWrapper, type IdentityKeyWrapper } from '../keys/wrapper';
import { checkDistinctFiles, statRegularOrAbsent, type NamedPath } from '../files';
import { checkImageFile } from '../image';
import { loadOrCreateStationKey, stationKeyPath, type StationKey } from '../records';
import { createBinding, parseBackend, parseCount } from '../station/bindings';
import { LOT_ENV, REGISTRY_ENV, parseRegistryUrl } from '../registry/url';

/** A chip as people write it ("nRF9160"), for human output; JSON keeps the machine name. */
export function displayName(chip: string): string {
  try {
    return getTarget(chip).displayName;
  } catch {
    return chip;
  }
}

export const DEFAULT_RECORDS_FILE = 'tfm-provision-records.jsonl';

export function parseImplementationId(text: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromHex(text);
  } catch {
    throw new TfmError('USAGE', '--implementation-id must be 64 hexadecimal digits (32 bytes).');
  }
  if (bytes.length !== 32) throw new TfmError('USAGE', `--implementation-id must be 32 bytes (got ${bytes.length}).`);
  const problem = implementationIdProblem(bytes);
  if (problem !== undefined) throw new TfmError('USAGE', `--implementation-id ${problem}`);
  return bytes;
}

/** --tfm-version: the TF-M the device boots, which decides the instance ID ('2.1' or '2.2', or a 2.x version). */
export const TFM_VERSION_HELP =
  'TF-M version the device boots: 2.1 (TF-M <= 2.1.x, NCS <= v3.1: instance ID = 0x01 || SHA-256(key)) or 2.2 (TF-M >= 2.2.0, NCS >= v3.2: 0x01 || SHA-256(COSE_Key)); default 2.2';

export function parseTfmVersion(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    instanceIdFormulaForTfm(text);
  } catch {
    throw new TfmError('USAGE', `--tfm-version must be 2.1 or 2.2 (or another TF-M 2.x version such as 2.1.2); got "${text}".`);
  }
  return text;
}

/** Loads a user's IdentityKeyWrapper: the module's default export, `identityKeyWrapper`, or the module itself. */
export function loadIdentityWrapper(modulePath: string, cwd: string): IdentityKeyWrapper {
  const resolved = path.resolve(cwd, modulePath);
  let loaded: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    loaded = require(resolved);
  } catch (error) {
    throw new TfmError('USAGE', `Cannot load the identity key wrapper module ${resolved}: ${(error as Error).message}`, { cause: error });
  }
  const m = loaded as Record<string, unknown>;
  for (const candidate of [m?.default, m?.identityKeyWrapper, loaded]) {
    if (isIdentityKeyWrapper(candidate)) return candidate;
  }
  throw new TfmError('USAGE', `${resolved} does not export an identity key wrapper: an object with a string "name" and a "wrap(input)" function returning 32 bytes (as default, as "identityKeyWrapper", or as the module).`);
}

/**
 * The station key that signs the records of a run (lib/records/station-key.ts): --station-key,
 * $TFM_PROVISION_STATION_KEY or the default in the user's config directory; created on first use.
 */
export function openStationKey(option: string | undefined, io: { env: NodeJS.ProcessEnv; cwd: string }, note?: (text: string) => void): StationKey {
  const file = stationKeyPath(option, io.env, io.cwd);
  const { key, created } = loadOrCreateStationKey(file);
  if (created) note?.(`created the station key ${file} (key ID ${key.keyId.slice(0, 16)}...); records are signed with it. Keep it private; verifiers need its public key: "tfm-provision records init" prints it.`);
  return key;
}

export const STATION_KEY_OPTION_HELP = 'Ed25519 key that signs the records (default $TFM_PROVISION_STATION_KEY, else ~/.config/tfm-provision/station-key.pem; created if missing)';

/**
 * Checks every file a run reads or writes before the probe opens: inputs and outputs are regular
 * files (or, for outputs, absent), images are within their size cap, and no two of them are one
 * file after resolving symlinks (the records overwritten by a PEM or a state save, and so on).
 */
export function checkRunFiles(files: { outputs: NamedPath[]; images?: NamedPath[] }): void {
  for (const image of files.images ?? []) checkImageFile(image.file, image.what);
  for (const output of files.outputs) statRegularOrAbsent(output.file, output.what);
  checkDistinctFiles([...files.outputs, ...(files.images ?? [])]);
}

/** The probe-selection options list and recover share (--sim, --sim-count, --sim-state-dir, --backend, --library). */
export interface BindingCliOptions {
  sim?: string;
  simCount?: string;
  simStateDir?: string;
  backend?: string;
  library?: string;
}

/** The binding those options choose; paths are resolved against the command's directory. */
export function bindingFromCliOptions(options: BindingCliOptions, cwd: string): ReturnType<typeof createBinding> {
  return createBinding({
    simFile: options.sim !== undefined ? path.resolve(cwd, options.sim) : undefined,
    simCount: parseCount(options.simCount, '--sim-count'),
    simStateDir: options.simStateDir !== undefined ? path.resolve(cwd, options.simStateDir) : undefined,
    backend: parseBackend(options.backend),
    library: options.library,
  });
}

export const REGISTRY_OPTION_HELP =
  'device registry, a PostgreSQL URL postgresql://user@host:port/database (default $TFM_PROVISION_REGISTRY; put the password in PGPASSWORD or ~/.pgpass, not in the URL): one unit of the lot\'s quota is reserved before the first write (docs/registry.md)';
export const LOT_OPTION_HELP = 'the registry lot the devices count against (default $TFM_PROVISION_LOT)';

/** --registry, else $TFM_PROVISION_REGISTRY (empty counts as unset), checked as a URL; undefined when neither is given. */
export function registryUrlFrom(options: { registry?: string }, env: NodeJS.ProcessEnv): string | undefined {
  const registry = options.registry ?? (env[REGISTRY_ENV] !== '' ? env[REGISTRY_ENV] : undefined);
  if (registry !== undefined) parseRegistryUrl(registry);
  return registry;
}

/** --registry / --lot (or their environment variables), checked: both or neither. */
export function registryOptionsFrom(options: { registry?: string; lot?: string }, env: NodeJS.ProcessEnv): { registry?: string; lot?: string } {
  const registry = registryUrlFrom(options, env);
  const lot = options.lot ?? (env[LOT_ENV] !== '' ? env[LOT_ENV] : undefined);
  if (registry === undefined && lot === undefined) return {};
  if (registry === undefined) throw new TfmError('USAGE', `--lot ${lot} needs a registry: --registry URL (or ${REGISTRY_ENV}).`);
  if (lot === undefined) throw new TfmError('USAGE', `A registry needs a lot: --lot NAME (or ${LOT_ENV}). Nothing was touched.`);
  return { registry, lot };
}
