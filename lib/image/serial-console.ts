/**
 * The provisioning image's console on the development kit's serial port (the interface MCU's
 * virtual COM port, where the stock sample logs by default).
 *
 * `serialport` is an optional dependency: it has native code, and a factory host that only uses RTT
 * or no console must not need it. It is loaded on first use, and its absence is a SERIAL_PORT_ERROR
 * that says how to install it.
 */
import { TfmError } from '../errors';
import { LineAssembler, type ImageConsole } from './console';

/** The part of serialport's stream API this module uses. `SerialPort` and `SerialPortMock` fit. */
export interface SerialPortLike {
  open(callback: (error: Error | null) => void): void;
  close(callback: (error: Error | null) => void): void;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  readonly isOpen: boolean;
}

export interface SerialConsoleOptions {
  path: string;
  /** The sample's default UART setting. */
  baudRate?: number;
  /** Builds the port (autoOpen must be false). Default: serialport's `SerialPort`. Tests pass a
   *  factory that returns serialport's `SerialPortMock`. */
  portFactory?: (options: { path: string; baudRate: number; autoOpen: false }) => SerialPortLike;
}

export const DEFAULT_BAUD_RATE = 115200;

function defaultPortFactory(): NonNullable<SerialConsoleOptions['portFactory']> {
  let serialport: { SerialPort: new (options: { path: string; baudRate: number; autoOpen: false }) => SerialPortLike };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    serialport = require('serialport');
  } catch (error) {
    throw new TfmError(
      'SERIAL_PORT_ERROR',
      'Reading the console from a serial port needs the optional package "serialport", which is not installed or did not load ' +
        `(${error instanceof Error ? error.message : String(error)}). Install it with "npm install serialport", or leave out --console-port to use RTT or chip polling.`,
      { cause: error },
    );
  }
  return (options) => new serialport.SerialPort(options);
}

/** Opens the serial port and collects lines until closed. Errors while open end up in `poll()`. */
export async function openSerialConsole(options: SerialConsoleOptions): Promise<ImageConsole> {
  const baudRate = options.baudRate ?? DEFAULT_BAUD_RATE;
  const factory = options.portFactory ?? defaultPortFactory();
  const port = factory({ path: options.path, baudRate, autoOpen: false });
  const assembler = new LineAssembler();
  const lines: string[] = [];
  let failure: Error | undefined;
  port.on('data', (chunk) => lines.push(...assembler.push(chunk)));
  port.on('error', (error) => {
    failure ??= error;
  });
  await new Promise<void>((resolve, reject) =>
    port.open((error) =>
      error
        ? reject(
            new TfmError('SERIAL_PORT_ERROR', `Cannot open the console port ${options.path}: ${error.message}. Check the port name and that no terminal holds it.`, {
              details: { path: options.path },
              cause: error,
            }),
          )
        : resolve(),
    ),
  );
  const description = `${options.path} at ${baudRate} baud`;
  return {
    kind: 'serial',
    description,
    async poll() {
      if (failure) {
        throw new TfmError('SERIAL_PORT_ERROR', `The console port ${options.path} failed: ${failure.message}.`, { details: { path: options.path }, cause: failure });
      }
      return lines.splice(0, lines.length);
    },
    async close() {
      const rest = assembler.flush();
      lines.push(...rest);
      if (!port.isOpen) return;
      await new Promise<void>((resolve) => port.close(() => resolve()));
    },
  };
}
