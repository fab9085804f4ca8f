import { PassThrough } from 'node:stream';
import { confirmIrreversible, confirmationCode } from '../../lib/cli/confirm';
import type { TfmError } from '../../lib/errors';

function io(isTTY: boolean, answer?: string) {
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  stdin.isTTY = isTTY;
  const stderr = new PassThrough();
  let prompt = '';
  stderr.on('data', (d: Buffer) => {
    prompt += d.toString();
    if (answer !== undefined && prompt.includes('to continue')) stdin.write(`${answer}\n`);
  });
  return { io: { stdin, stderr }, prompt: () => prompt, stdin };
}

async function codeOf(promise: Promise<void>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (e) {
    return (e as TfmError).code;
  }
}

const request = { action: 'provision', serialNumbers: [1050123456], yes: false, simulated: false };

describe('typed confirmation', () => {
  it('asks for the last 6 digits of the serial on a terminal and goes ahead when they match', async () => {
    const t = io(true, '123456');
    await expect(confirmIrreversible(t.io, request)).resolves.toBeUndefined();
    expect(t.prompt()).toContain('probe 1050123456');
    expect(t.prompt()).toContain('last 6 digits');
    expect(confirmationCode(1050123456)).toBe('123456');
    expect(confirmationCode(1234)).toBe('1234');
  });

  it('refuses with CONFIRMATION_MISMATCH on a wrong answer or when input ends', async () => {
    expect(await codeOf(confirmIrreversible(io(true, '654321').io, request))).toBe('CONFIRMATION_MISMATCH');
    const ended = io(true);
    const pending = confirmIrreversible(ended.io, request);
    ended.stdin.end();
    expect(await codeOf(pending)).toBe('CONFIRMATION_MISMATCH');
  });

  it('refuses with CONFIRMATION_REQUIRED when there is no terminal and no --yes, without prompting', async () => {
    const t = io(false, '123456');
    expect(await codeOf(confirmIrreversible(t.io, request))).toBe('CONFIRMATION_REQUIRED');
    expect(t.prompt()).toBe('');
  });

  it('skips the question with --yes and for simulated devices', async () => {
    expect(await codeOf(confirmIrreversible(io(false).io, { ...request, yes: true }))).toBe('OK');
    expect(await codeOf(confirmIrreversible(io(false).io, { ...request, simulated: true }))).toBe('OK');
  });

  it('asks a station for the number of probes, listing them', async () => {
    const t = io(true, '3');
    await confirmIrreversible(t.io, { ...request, serialNumbers: [11, 22, 33] });
    expect(t.prompt()).toContain('11, 22, 33');
    expect(await codeOf(confirmIrreversible(io(true, '2').io, { ...request, serialNumbers: [11, 22, 33] }))).toBe('CONFIRMATION_MISMATCH');
  });
});
