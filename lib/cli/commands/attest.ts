/**
 * `tfm-provision attest verify TOKEN (--records FILE | --registry URL) [--nonce HEX] [--json]`: check a
 * device's PSA attestation token against what the station registered (lib/attest), in the record file
 * or in the device registry (lib/registry). Every claim and every check is printed; a failed check
 * exits 3 with its ATTEST_* code.
 */
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { TfmError } from '../../errors';
import { NONCE_LENGTHS, attestationError, recordsLookupFromFile, registryLookup, verifyAttestationToken, type AttestationLookup, type AttestationResult } from '../../attest';
import { REGISTRY_ENV, openRegistry } from '../../registry';
import { reportError, verifyRecordFile } from '../../records';
import { SimulatedDevice } from '../../sim/device';
import type { ErrorCode } from '../../errors';
import { jsonLine, streamLine } from '../output';
import type { CliIo } from '../io';
import { commandHelp } from '../help';
import { registryUrlFrom } from '../options';
import { fromHex } from '../../bytes';

const CLAIM_LABELS: Array<[keyof AttestationResult['claims'], string]> = [
  ['profile', 'profile'],
  ['instanceId', 'instance ID'],
  ['implementationId', 'implementation ID'],
  ['nonce', 'nonce'],
  ['clientId', 'client ID'],
  ['securityLifecycle', 'security lifecycle'],
  ['bootSeed', 'boot seed'],
  ['certificationReference', 'certification reference'],
  ['verificationService', 'verification service'],
  ['noSoftwareMeasurements', 'no SW measurements'],
];

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function formatAttestation(file: string, r: AttestationResult): string {
  const lines: string[] = [];
  const envelope = r.tagged === undefined ? 'not a COSE_Sign1 token' : `COSE_Sign1 (${r.tagged ? 'tagged 18' : 'untagged'}), algorithm ${show(r.algorithm ?? 'none')}`;
  lines.push(`${file}: ${envelope}${r.claimKeys ? `, ${r.claimKeys === 'eat' ? 'RFC 9783' : 'PSA IoT Profile 1'} claim keys` : ''}`);
  const claimLines: string[] = [];
  for (const [key, label] of CLAIM_LABELS) {
    const value = r.claims[key];
    if (value === undefined) continue;
    const extra = key === 'securityLifecycle' && r.claims.securityLifecycleName ? ` (${r.claims.securityLifecycleName})` : '';
    claimLines.push(`  ${label.padEnd(24)} ${show(value)}${extra}`);
  }
  const components = r.claims.softwareComponents;
  if (Array.isArray(components)) {
    claimLines.push(`  ${'software components'.padEnd(24)} ${components.length}`);
    components.forEach((c, i) => {
      const fields = typeof c === 'object' && c !== null ? Object.entries(c as Record<string, unknown>).map(([k, v]) => `${k}=${show(v)}`) : [show(c)];
      claimLines.push(`    [${i}] ${fields.join(' ')}`);
    });
  } else if (components !== undefined) claimLines.push(`  ${'software components'.padEnd(24)} ${show(components)}`);
  for (const other of r.claims.other) claimLines.push(`  ${`claim ${other.key}`.padEnd(24)} ${show(other.value)}`);
  if (claimLines.length > 0) lines.push('claims', ...claimLines);
  lines.push('checks');
  for (const check of r.checks) {
    const status = { pass: 'ok  ', fail: 'FAIL', skipped: 'skip', warn: 'warn' }[check.status];
    lines.push(`  ${status}  ${check.name.padEnd(22)} ${check.code ? `${check.code}: ` : ''}${check.detail}`);
  }
  if (r.ok) {
    const who = r.device ? `${r.device.deviceId !== undefined ? `device ${r.device.deviceId}` : 'a registered device'} (${r.device.lot !== undefined ? `lot ${r.device.lot}, ` : ''}${r.device.source})` : 'a registered device';
    lines.push(`verified: signed by the identity key registered for ${who}`);
  } else {
    lines.push(`NOT verified: ${r.errorCodes.length} check${r.errorCodes.length === 1 ? '' : 's'} failed (${r.errorCodes.join(', ')})`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * What `attest request` needs of a simulated device: TF-M's first boot followed by one initial
 * attestation request (psa_initial_attest_get_token) with the given challenge, answered with the
 * token. This is the shape of SimulatedDevice.bootTfm({ challenge }) once the simulated TF-M
 * answers attestation requests (issue 13); a build without it answers no `attestation`.
 */
export interface AttestingSimDevice {
  bootTfm(request: { challenge: Uint8Array }): {
    ok: boolean;
    errorCode?: ErrorCode;
    message: string;
    attestation?: { ok: boolean; token?: Uint8Array; errorCode?: ErrorCode; message: string };
  };
  save(file: string, options: { overwrite?: boolean }): void;
}

async function readToken(file: string): Promise<Buffer> {
  try {
    return await fsp.readFile(file);
  } catch (error) {
    throw new TfmError('FILE_ERROR', `Cannot read the token file ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * --nonce of both commands: hex (0x allowed) of 32, 48 or 64 bytes, the sizes TF-M's
 * attest_verify_challenge_size accepts and RFC 9783 allows for the nonce claim.
 */
function parseNonce(text: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromHex(text.replace(/^0x/iu, ''));
  } catch {
    throw new TfmError('INVALID_PARAMETER', `--nonce must be hex (an even number of digits 0-9, a-f); got ${JSON.stringify(text)}.`);
  }
  if (bytes.length === 0 || !NONCE_LENGTHS.includes(bytes.length)) {
    throw new TfmError('INVALID_PARAMETER', `--nonce must be 32, 48 or 64 bytes of hex (as TF-M's attest_verify_challenge_size accepts); got ${bytes.length} bytes.`);
  }
  return bytes;
}

export function register(program: Command, io: CliIo): void {
  const attest = program.command('attest').description('PSA attestation tokens: check a device\'s token against the provisioning records or the device registry.');

  attest
    .command('verify')
    .description('Verify a PSA attestation token (COSE_Sign1, ES256) against the identity key, instance ID and implementation ID the records or the device registry hold.')
    .argument('<token>', 'the token, binary CBOR (e.g. from psa_initial_attest_get_token)')
    .option('--records <file>', 'provisioning record file (JSON Lines) holding the device\'s verified result')
    .option('--registry <url>', `device registry (postgresql://user@host:port/database) holding the device as provisioned (default: $${REGISTRY_ENV} when --records is not given)`)
    .option('--nonce <hex>', 'the challenge sent to the device (32, 48 or 64 bytes, hex); without it freshness is not checked')
    .option('--profile <eat_profile>', 'the eat_profile value to expect (default: any profile TF-M produces)')
    .option('--json', 'print the result as one JSON line')
    .option('--allow-broken-chain', 'look devices up even if the record file\'s hash chain does not verify')
    .addHelpText(
      'after',
      '\nWhere the key comes from: --records (the record file, its hash chain checked first) or --registry\n' +
        '(the registry\'s provisioned device with the token\'s instance ID); exactly one.\n' +
        'Checks: COSE_Sign1 shape, ES256, signature by the registered key, instance ID derived from it (by the\n' +
        'TF-M formula the record names), nonce, implementation ID, lifecycle SECURED, profile, boot seed,\n' +
        'software components. A failed check exits 3 with its code (ATTEST_*). See docs/attestation.md.',
    )
    .addHelpText(
      'after',
      commandHelp([
        'tfm-provision attest verify token.cbor --records line1.jsonl --nonce HEX',
        'tfm-provision attest verify token.cbor --registry postgresql://verifier@db/factory --nonce HEX --json',
      ]),
    )
    .action(async (token: string, options: { records?: string; registry?: string; nonce?: string; profile?: string; json?: boolean; allowBrokenChain?: boolean }) => {
      // Bad arguments are a usage error before any file is read or any server asked.
      // A sent nonce of another size can match no token TF-M makes: a typo, not a failed check.
      const nonce = options.nonce !== undefined ? parseNonce(options.nonce) : undefined;
      if (options.records !== undefined && options.registry !== undefined) {
        throw new TfmError('USAGE', 'attest verify takes --records or --registry, not both: the key must come from one place.');
      }
      const registryUrl = options.records === undefined || options.registry !== undefined ? registryUrlFrom(options, io.env) : undefined;
      if (options.records === undefined && registryUrl === undefined) {
        throw new TfmError('USAGE', `attest verify needs --records FILE or --registry URL (or $${REGISTRY_ENV}): where the station registered the device.`);
      }
      if (registryUrl !== undefined && options.allowBrokenChain === true) {
        throw new TfmError('USAGE', '--allow-broken-chain is about a record file\'s hash chain; a registry has none.');
      }
      const tokenPath = resolve(io.cwd, token);
      const bytes = await readToken(tokenPath);
      const verify = (lookup: AttestationLookup): Promise<AttestationResult> => verifyAttestationToken(bytes, { lookup, nonce, profile: options.profile });
      let outcome: AttestationResult;
      let notes: string[] = [];
      if (registryUrl !== undefined) {
        const { registry } = openRegistry(registryUrl);
        try {
          outcome = await verify(registryLookup(registry));
        } finally {
          await registry.close();
        }
      } else {
        const recordsPath = resolve(io.cwd, options.records!);
        // A file that is not records at all is RECORDS_INVALID (the lookup parses every line first);
        // only a file of records can have a broken chain.
        const index = await recordsLookupFromFile(recordsPath);
        // The records are the trust anchor here: an edited line could register another key.
        const chain = await verifyRecordFile(recordsPath);
        const problem = reportError(chain, options.records!);
        // A file that is not a record file has no key to look up, broken chain allowed or not. An
        // empty one holds no device: the lookup says so (ATTEST_UNKNOWN_INSTANCE).
        if (problem !== undefined && problem.code !== 'RECORDS_EMPTY' && (options.allowBrokenChain !== true || chain.notRecordFile)) {
          throw new TfmError(problem.code, `${problem.message} A key looked up there cannot be trusted${chain.notRecordFile ? '' : ' (--allow-broken-chain to look anyway)'}.`, { details: problem.details });
        }
        if (index.inconsistent.length > 0) notes = [`note: ${index.inconsistent.length} record(s) left out: their instance ID does not match their key under their formula.`];
        outcome = await verify(index.lookup);
      }
      const error = attestationError(outcome);
      if (options.json === true) {
        io.stdout.write(jsonLine(streamLine({ type: 'result', command: 'attest verify', file: token, ...outcome, errorCode: outcome.errorCodes[0] ?? null, ...(error !== undefined ? { error: error.toJSON() } : {}) })));
      } else {
        for (const note of notes) io.stderr.write(`${note}\n`);
        io.stdout.write(formatAttestation(token, outcome));
      }
      if (error !== undefined) throw error;
    });

  attest
    .command('request')
    .description("Ask a simulated device for a PSA attestation token: TF-M boots (its first boot provisions it) and answers one psa_initial_attest_get_token with the nonce.")
    .requiredOption('--sim <file>', 'simulator state file (updated in place, as `sim boot` does)')
    .requiredOption('--nonce <hex>', 'the challenge: 32, 48 or 64 bytes, hex')
    .requiredOption('--out <file>', 'where to write the token (binary CBOR)')
    .option('--json', 'print { ok, out, bytes, message } as one JSON line')
    .addHelpText(
      'after',
      commandHelp([
        'tfm-provision attest request --sim dev.json --nonce HEX --out token.cbor',
      ]),
    )
    .action(async (options: { sim: string; nonce: string; out: string; json?: boolean }) => {
      const challenge = parseNonce(options.nonce);
      const statePath = resolve(io.cwd, options.sim);
      const device = SimulatedDevice.load(statePath) as unknown as AttestingSimDevice;
      const boot = device.bootTfm({ challenge });
      device.save(statePath, { overwrite: true });
      if (!boot.ok) throw new TfmError(boot.errorCode ?? 'TFM_PROVISIONING_FAILED', `TF-M did not boot: ${boot.message}`);
      const answer = boot.attestation;
      if (answer === undefined) throw new TfmError('NOT_IMPLEMENTED', 'This simulator answers no initial attestation requests (its TF-M model predates them).');
      if (!answer.ok || answer.token === undefined) throw new TfmError(answer.errorCode ?? 'INTERNAL_ERROR', `The attestation request failed: ${answer.message}`);
      try {
        await fsp.writeFile(resolve(io.cwd, options.out), answer.token);
      } catch (error) {
        throw new TfmError('FILE_ERROR', `Cannot write ${options.out}: ${(error as Error).message}`, { cause: error });
      }
      if (options.json === true) io.stdout.write(jsonLine(streamLine({ type: 'result', command: 'attest request', ok: true, errorCode: null, out: options.out, bytes: answer.token.length, message: answer.message })));
      else io.stdout.write(`${options.out}: ${answer.message}\n`);
    });
}
