/**
 * Registry URLs: `postgresql://user:password@host:port/database?...` (libpq's URI form, which
 * node-postgres reads). A password must never reach a log, an error, an event or a record, so
 * everything the tool says about a registry uses `redactUrl`, and messages from the driver pass
 * through `redactSecrets` with the password of the URL in use.
 */
import { TfmError } from '../errors';

export const REGISTRY_ENV = 'TFM_PROVISION_REGISTRY';
export const LOT_ENV = 'TFM_PROVISION_LOT';

/** The URL checked for its scheme; USAGE for anything that is not a postgres URL. */
export function parseRegistryUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TfmError('USAGE', `The registry URL is not a URL (expected postgresql://user@host:port/database): ${redactLoose(text)}`);
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new TfmError('USAGE', `The registry URL must start with postgresql:// (got ${url.protocol}//...).`);
  }
  return url;
}

/** The URL with its password replaced by "***" (and any password= parameter too). */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = '***';
    for (const key of [...url.searchParams.keys()]) if (/pass/i.test(key)) url.searchParams.set(key, '***');
    return url.toString();
  } catch {
    return redactLoose(text);
  }
}

/** For text that is not a parsable URL: anything between "//user:" and "@" goes. */
function redactLoose(text: string): string {
  return text.replace(/(\/\/[^/:@]*:)[^@]*@/g, '$1***@').replace(/(pass\w*=)[^&\s]*/gi, '$1***');
}

/** Every password a URL carries: its userinfo's and a libpq `password=` query parameter's. */
export function urlSecrets(text: string): string[] {
  try {
    const url = new URL(text);
    const found = [url.password === '' ? undefined : decodeURIComponent(url.password), url.searchParams.get('password') ?? undefined];
    return found.filter((s): s is string => s !== undefined && s !== '');
  } catch {
    return [];
  }
}

/** Removes every occurrence of the given secrets (raw and URL-encoded) from a message. */
export function redactSecrets(message: string, secrets: Array<string | undefined>): string {
  let out = message;
  for (const secret of secrets) {
    if (secret === undefined || secret === '') continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('***');
  }
  return out;
}
