import { SerialPortMock } from 'serialport';
import type { ProbeSession } from '../../lib/probe/types';
import { classifyLine, LineAssembler, publicKeyInLine } from '../../lib/image/console';
import { findRttControlBlock, RttConsole } from '../../lib/image/rtt';
import { openSerialConsole } from '../../lib/image/serial-console';
import { TfmError } from '../../lib/errors';

/** Just enough of a session for RTT: a RAM array behind read/writeU32, with a call log. */
function ramSession(base: number, size: number): { session: ProbeSession; ram: Buffer; calls: string[] } {
  const ram = Buffer.alloc(size);
  const calls: string[] = [];
  const session = {
    async read(address: number, length: number) {
      calls.push(`read ${address.toString(16)} ${length}`);
      return Uint8Array.from(ram.subarray(address - base, address - base + length));
    },
    async writeU32(address: number, value: number) {
      calls.push(`writeU32 ${address.toString(16)}`);
      ram.writeUInt32LE(value >>> 0, address - base);
    },
  } as unknown as ProbeSession;
  return { session, ram, calls };
}

/** Lays out a control block with one up buffer, as SEGGER_RTT.c does. Returns a writer. */
function installRtt(ram: Buffer, base: number, at: number, bufferAt: number, size: number): (text: string) => void {
  ram.write('SEGGER RTT', at - base, 'latin1');
  ram.writeUInt32LE(1, at - base + 16); // up buffers
  ram.writeUInt32LE(1, at - base + 20); // down buffers
  const up = at - base + 24;
  ram.writeUInt32LE(0, up); // name
  ram.writeUInt32LE(bufferAt, up + 4);
  ram.writeUInt32LE(size, up + 8);
  ram.writeUInt32LE(0, up + 12); // WrOff
  ram.writeUInt32LE(0, up + 16); // RdOff
  return (text: string) => {
    let wr = ram.readUInt32LE(up + 12);
    for (const byte of Buffer.from(text, 'latin1')) {
      ram[bufferAt - base + wr] = byte;
      wr = (wr + 1) % size;
    }
    ram.writeUInt32LE(wr, up + 12);
  };
}

describe('console lines', () => {
  test('Zephyr log decoration is removed and the sample outcome lines are recognised', () => {
    expect(classifyLine('[00:00:00.251,000] <inf> provisioning_image: Success!')).toEqual({ kind: 'success', message: 'Success!' });
    expect(classifyLine('[00:00:00.010,000] <inf> provisioning_image: Failure: Identity key slot already written. Exiting!')).toEqual({
      kind: 'failure',
      message: 'Failure: Identity key slot already written. Exiting!',
      failure: { name: 'identityKeyAlreadyWritten', code: 'IMAGE_IDENTITY_KEY_SLOT_WRITTEN' },
    });
    expect(classifyLine('Cannot write to the UICR->APPROTECT register, exiting...!').kind).toBe('failure');
    expect(classifyLine('Writing the identity key to KMU')).toEqual({ kind: 'info', message: 'Writing the identity key to KMU' });
    expect(classifyLine('One or more keys already set. Cannot overwrite').kind).toBe('info');
  });

  test('lines are assembled across chunks, CRLF and ANSI colours removed', () => {
    const lines = new LineAssembler();
    expect(lines.push('\x1b[0m<inf> a: one\r')).toEqual([]);
    expect(lines.push('\ntwo\nthr')).toEqual(['<inf> a: one', 'two']);
    expect(lines.flush()).toEqual(['thr']);
  });

  test('an endless line without newline is cut instead of growing', () => {
    const lines = new LineAssembler(8);
    expect(lines.push('0123456789')).toEqual(['0123456789']);
  });

  test('a printed uncompressed public key is picked up', () => {
    const key = '04' + 'ab'.repeat(64);
    expect(publicKeyInLine(`Identity public key: ${key}`)).toBe(key);
    expect(publicKeyInLine('Writing the identity key to KMU')).toBeUndefined();
  });
});

describe('RTT over probe memory reads', () => {
  const base = 0x20000000;

  test('finds a word-aligned control block, not a stray copy of the string', async () => {
    const { session, ram } = ramSession(base, 0x10000);
    ram.write('SEGGER RTT\0', 0x101, 'latin1'); // unaligned: a string in a log buffer
    installRtt(ram, base, base + 0x8000, base + 0x9000, 64);
    expect(await findRttControlBlock(session, { base, size: 0x10000 }, 0x1000)).toBe(base + 0x8000);
  });

  test('finds a control block that straddles a search chunk boundary', async () => {
    const { session, ram } = ramSession(base, 0x4000);
    installRtt(ram, base, base + 0x1ffc, base + 0x3000, 64);
    expect(await findRttControlBlock(session, { base, size: 0x4000 }, 0x2000)).toBe(base + 0x1ffc);
  });

  test('reads lines from the up buffer, across the wrap, and frees what it read', async () => {
    const { session, ram } = ramSession(base, 0x10000);
    const put = installRtt(ram, base, base + 0x400, base + 0x800, 32);
    const rtt = new RttConsole(session, { search: { base, size: 0x10000 } });
    expect(await rtt.poll()).toEqual([]);
    expect(rtt.attached).toBe(true);
    put('<inf> provisioning_image: Succ');
    expect(await rtt.poll()).toEqual([]);
    put('ess!\nnext line\n'); // wraps round the 32-byte buffer
    expect(await rtt.poll()).toEqual(['<inf> provisioning_image: Success!', 'next line']);
    expect(ram.readUInt32LE(0x400 + 24 + 16)).toBe(ram.readUInt32LE(0x400 + 24 + 12)); // RdOff = WrOff
  });

  test('stays detached and silent while no control block exists', async () => {
    const { session } = ramSession(base, 0x1000);
    const rtt = new RttConsole(session, { search: { base, size: 0x1000 } });
    expect(await rtt.poll()).toEqual([]);
    expect(rtt.attached).toBe(false);
  });
});

describe('serial console', () => {
  afterEach(() => SerialPortMock.binding.reset());

  test('delivers the lines the port receives', async () => {
    SerialPortMock.binding.createPort('/dev/ttyKIT0', { echo: false, record: false });
    let port: SerialPortMock | undefined;
    const console = await openSerialConsole({
      path: '/dev/ttyKIT0',
      portFactory: (options) => (port = new SerialPortMock(options)),
    });
    port!.port!.emitData(Buffer.from('[00:00:00.001,000] <inf> provisioning_image: Success!\r\n'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await console.poll()).toEqual(['[00:00:00.001,000] <inf> provisioning_image: Success!']);
    await console.close();
    expect(port!.isOpen).toBe(false);
  });

  test('a port that cannot be opened is SERIAL_PORT_ERROR naming the port', async () => {
    const error = await openSerialConsole({ path: '/dev/ttyNONE', portFactory: (options) => new SerialPortMock(options) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TfmError);
    expect((error as TfmError).code).toBe('SERIAL_PORT_ERROR');
    expect((error as TfmError).message).toMatch(/ttyNONE/);
  });
});
