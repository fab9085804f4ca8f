/**
 * The station key: an Ed25519 key pair (node:crypto) that signs every record a station writes, so
 * a record file can be checked for authorship (`records verify --public-key`). The hash chain alone
 * shows only that lines were not changed *by someone who did not recompute it*; anyone can
 * recompute SHA-256. A signature can only be made with the station's private key.
 *
 * Where it lives: `--station-key FILE`, else $TFM_PROVISION_STATION_KEY, else
 * $XDG_CONFIG_HOME/tfm-provision/station-key.pem (XDG_CONFIG_HOME defaults to ~/.config): outside
 * the working directory, so the records and the key that vouches for them are not copied together.
 * Created by `tfm-provision records init` or by the first run that writes records: PKCS#8 PEM,
 * mode 0600 in a directory created 0700, created atomically (a temporary file linked into place,
 * so two first runs never both create one). A key file readable by group or others is refused, as
 * ssh refuses such private keys.
 *
 * What is signed: for each record, `sha256(body)`, where body is the record's JSON line without its
 * final `"sig"` member; the body includes `prev`, the chain hash of the line before, so a signature
 * also vouches for everything before it. The signed message is a fixed domain string followed by
 * that hash, so a station signature can never be replayed as a signature over anything else.
 *
 * Limitation: node:crypto keeps the private key inside a KeyObject that cannot be zeroed; it lives
 * as long as the process.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TfmError } from '../errors';
import { fileError, removeStaleTemporaries, statRegularOrAbsent, temporaryName } from '../files';

export const STATION_KEY_ENV = 'TFM_PROVISION_STATION_KEY';
const SIGNATURE_DOMAIN = Buffer.from('tfm-provision record signature v1\n', 'utf8');

export interface StationKey {
  readonly path: string;
  /** SHA-256 (hex) of the raw 32-byte Ed25519 public key; every signed record names it. */
  readonly keyId: string;
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
  /** Ed25519 signature (hex, 64 bytes) of a record body's SHA-256. */
  sign(bodyHash: Buffer): string;
}

/** The station key path: --station-key, then $TFM_PROVISION_STATION_KEY, then the config directory. */
export function stationKeyPath(option: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  if (option !== undefined && option !== '') return path.resolve(cwd, option);
  const fromEnv = env[STATION_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return path.resolve(cwd, fromEnv);
  const config = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : path.join(env.HOME ?? os.homedir(), '.config');
  return path.join(config, 'tfm-provision', 'station-key.pem');
}

/** Key ID of an Ed25519 public key: SHA-256 of its 32 raw bytes (the last 32 bytes of the SPKI DER). */
export function stationKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return createHash('sha256').update(der.subarray(der.length - 32)).digest('hex');
}

export function signatureMessage(bodyHash: Buffer): Buffer {
  return Buffer.concat([SIGNATURE_DOMAIN, bodyHash]);
}

/** Checks an Ed25519 record signature (hex) over a body hash. */
export function verifySignature(publicKey: KeyObject, bodyHash: Buffer, signatureHex: string): boolean {
  try {
    return edVerify(null, signatureMessage(bodyHash), publicKey, Buffer.from(signatureHex, 'hex'));
  } catch {
    return false;
  }
}

/** Reads an Ed25519 public key (PEM SPKI, as `records init` prints it) or STATION_KEY_INVALID. */
export function readStationPublicKey(file: string): KeyObject {
  statRegularOrAbsent(file, 'the station public key', 'STATION_KEY_INVALID');
  let key: KeyObject;
  try {
    const text = fs.readFileSync(file, 'utf8');
    key = text.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(text)) : createPublicKey(text);
  } catch (error) {
    throw new TfmError('STATION_KEY_INVALID', `${file} is not a PEM public key: ${(error as Error).message}`, { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new TfmError('STATION_KEY_INVALID', `${file} is a ${key.asymmetricKeyType} key; station keys are Ed25519.`);
  return key;
}

function fromPrivate(file: string, privateKey: KeyObject): StationKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new TfmError('STATION_KEY_INVALID', `${file} is a ${privateKey.asymmetricKeyType} key; station keys are Ed25519.`);
  const publicKey = createPublicKey(privateKey);
  return {
    path: file,
    keyId: stationKeyId(publicKey),
    publicKey,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    sign: (bodyHash) => edSign(null, signatureMessage(bodyHash), privateKey).toString('hex'),
  };
}

/** Loads the station key; STATION_KEY_INVALID if it is not a private Ed25519 key only its owner can read. */
export function loadStationKey(file: string): StationKey {
  const stats = statRegularOrAbsent(file, 'the station key', 'STATION_KEY_INVALID');
  if (stats === undefined) throw new TfmError('STATION_KEY_INVALID', `No station key at ${file}. Create one with "tfm-provision records init".`, { details: { path: file } });
  if (process.platform !== 'win32' && (stats.mode & 0o077) !== 0) {
    throw new TfmError('STATION_KEY_INVALID', `The station key ${file} is readable by others (mode ${(stats.mode & 0o777).toString(8)}); run "chmod 600 ${file}".`, { details: { path: file } });
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new TfmError('STATION_KEY_INVALID', `${file} is not a PEM private key: ${(error as Error).message}`, { cause: error });
  }
  return fromPrivate(file, privateKey);
}

/** Loads the station key, creating it (0600, atomically) if there is none. */
export function loadOrCreateStationKey(file: string): { key: StationKey; created: boolean } {
  removeStaleTemporaries(file);
  if (statRegularOrAbsent(file, 'the station key', 'STATION_KEY_INVALID') !== undefined) return { key: loadStationKey(file), created: false };
  const dir = path.dirname(file);
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const temporary = temporaryName(file);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = fs.openSync(temporary, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    try {
      fs.writeSync(fd, pem);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(temporary, file);
    } catch (error) {
      // Another first run created it in the meantime: use theirs, so one station has one key.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { key: loadStationKey(file), created: false };
      throw error;
    }
  } catch (error) {
    throw fileError(error, `Cannot create the station key ${file}`, { path: file });
  } finally {
    fs.rmSync(temporary, { force: true });
  }
  return { key: fromPrivate(file, privateKey), created: true };
}
