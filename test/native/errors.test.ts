/**
 * Every nrfjprogdll_err_t (vendor-apis.md 1.3) reaches JavaScript as a ProbeError with a stable
 * code, the vendor's number and the vendor function, through the real addon.
 */
import { ERROR_CODES, ProbeError, type ErrorCode } from '../../lib/errors';
import { fakeNrfjprog } from '../support/fake-vendor';

const NRFJPROG_ERRORS: Array<[number, string, ErrorCode]> = [
  [-1, 'OUT_OF_MEMORY', 'OUT_OF_MEMORY'],
  [-2, 'INVALID_OPERATION', 'INVALID_OPERATION'],
  [-3, 'INVALID_PARAMETER', 'INVALID_PARAMETER'],
  [-4, 'INVALID_DEVICE_FOR_OPERATION', 'INVALID_DEVICE_FOR_OPERATION'],
  [-5, 'WRONG_FAMILY_FOR_DEVICE', 'WRONG_FAMILY'],
  [-6, 'UNKNOWN_DEVICE', 'UNKNOWN_DEVICE'],
  [-7, 'INVALID_SESSION', 'INVALID_SESSION'],
  [-10, 'EMULATOR_NOT_CONNECTED', 'PROBE_DISCONNECTED'],
  [-11, 'CANNOT_CONNECT', 'CANNOT_CONNECT'],
  [-12, 'LOW_VOLTAGE', 'LOW_VOLTAGE'],
  [-13, 'NO_EMULATOR_CONNECTED', 'NO_PROBES'],
  [-20, 'NVMC_ERROR', 'NVMC_ERROR'],
  [-21, 'RECOVER_FAILED', 'RECOVER_FAILED'],
  [-90, 'NOT_AVAILABLE_BECAUSE_PROTECTION', 'DEVICE_PROTECTED'],
  [-91, 'NOT_AVAILABLE_BECAUSE_MPU_CONFIG', 'NOT_AVAILABLE_BECAUSE_MPU_CONFIG'],
  [-92, 'NOT_AVAILABLE_BECAUSE_COPROCESSOR_DISABLED', 'COPROCESSOR_DISABLED'],
  [-93, 'NOT_AVAILABLE_BECAUSE_TRUST_ZONE', 'NOT_AVAILABLE_BECAUSE_TRUST_ZONE'],
  [-94, 'NOT_AVAILABLE_BECAUSE_BPROT', 'NOT_AVAILABLE_BECAUSE_BPROT'],
  [-100, 'JLINKARM_DLL_NOT_FOUND', 'JLINK_LIBRARY_NOT_FOUND'],
  [-101, 'JLINKARM_DLL_COULD_NOT_BE_OPENED', 'JLINK_LIBRARY_ERROR'],
  [-102, 'JLINKARM_DLL_ERROR', 'JLINK_LIBRARY_ERROR'],
  [-103, 'JLINKARM_DLL_TOO_OLD', 'JLINK_LIBRARY_TOO_OLD'],
  [-104, 'JLINKARM_DLL_READ_ERROR', 'PROBE_TRANSFER_ERROR'],
  [-105, 'JLINKARM_DLL_TIME_OUT_ERROR', 'VENDOR_TIMEOUT'],
  [-110, 'SERIAL_PORT_NOT_FOUND', 'SERIAL_PORT_ERROR'],
  [-111, 'SERIAL_PORT_PERMISSION_ERROR', 'SERIAL_PORT_ERROR'],
  [-112, 'SERIAL_PORT_WRITE_ERROR', 'SERIAL_PORT_ERROR'],
  [-113, 'SERIAL_PORT_READ_ERROR', 'SERIAL_PORT_ERROR'],
  [-114, 'SERIAL_PORT_RESOURCE_ERROR', 'SERIAL_PORT_ERROR'],
  [-115, 'SERIAL_PORT_NOT_OPEN_ERROR', 'SERIAL_PORT_ERROR'],
  [-150, 'NRFJPROG_SUB_DLL_NOT_FOUND', 'VENDOR_LIBRARY_ERROR'],
  [-151, 'NRFJPROG_SUB_DLL_COULD_NOT_BE_OPENED', 'VENDOR_LIBRARY_ERROR'],
  [-152, 'NRFJPROG_SUB_DLL_COULD_NOT_LOAD_FUNCTIONS', 'VENDOR_LIBRARY_ERROR'],
  [-153, 'NRFJPROG_HOST_EXE_NOT_FOUND', 'VENDOR_WORKER_NOT_FOUND'],
  [-160, 'VERIFY_ERROR', 'VENDOR_VERIFY_ERROR'],
  [-161, 'RAM_IS_OFF_ERROR', 'RAM_IS_OFF'],
  [-162, 'FILE_OPERATION_FAILED', 'FILE_ERROR'],
  [-170, 'FILE_PARSING_ERROR', 'FILE_ERROR'],
  [-171, 'FILE_UNKNOWN_FORMAT_ERROR', 'FILE_ERROR'],
  [-172, 'FILE_INVALID_ERROR', 'FILE_ERROR'],
  [-173, 'UNKNOWN_MEMORY_ERROR', 'UNKNOWN_MEMORY'],
  [-174, 'CONFIG_TYPE_ERROR', 'VENDOR_CONFIG_ERROR'],
  [-175, 'CONFIG_SYNTAX_ERROR', 'VENDOR_CONFIG_ERROR'],
  [-176, 'CONFIG_PROPERTY_MISSING_ERROR', 'VENDOR_CONFIG_ERROR'],
  [-220, 'TIME_OUT', 'VENDOR_TIMEOUT'],
  [-221, 'DFU_ERROR', 'VENDOR_LIBRARY_ERROR'],
  [-254, 'INTERNAL_ERROR', 'VENDOR_INTERNAL_ERROR'],
  [-255, 'NOT_IMPLEMENTED_ERROR', 'NOT_IMPLEMENTED'],
];

async function rejection(promise: Promise<unknown>): Promise<ProbeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProbeError);
  return error as ProbeError;
}

describe('nrfjprog error mapping', () => {
  it('maps every code to a code that lib/errors.ts defines', () => {
    for (const [, , code] of NRFJPROG_ERRORS) expect(Object.keys(ERROR_CODES)).toContain(code);
  });

  it.each(NRFJPROG_ERRORS)('%i %s -> %s', async (vendorCode, name, code) => {
    const fake = fakeNrfjprog({ failures: [{ code: vendorCode, function: 'NRFJPROG_read_u32_inst', call: 2 }] });
    const session = await fake.binding().open(1000);
    try {
      expect(await session.readU32(0x20000000)).toBe(0); // call 1 succeeds
      const error = await rejection(session.readU32(0x00ff8000));
      expect(error.code).toBe(code);
      expect(error.vendorCode).toBe(vendorCode);
      expect(error.operation).toBe('NRFJPROG_read_u32_inst');
      expect(error.message).toContain(`${name} (${vendorCode})`);
      expect(error.message).toContain('0x00FF8000');
      expect(await session.readU32(0x20000000)).toBe(0); // one failure, the session goes on
    } finally {
      await session.close();
    }
  });

  it('maps a code nrfjprog never documented to VENDOR_LIBRARY_ERROR, keeping the number', async () => {
    const fake = fakeNrfjprog({ failures: [{ code: -77, function: 'NRFJPROG_halt_inst' }] });
    const session = await fake.binding().open(1000);
    try {
      const error = await rejection(session.halt());
      expect(error.code).toBe('VENDOR_LIBRARY_ERROR');
      expect(error.vendorCode).toBe(-77);
      expect(error.message).toContain('unknown nrfjprog error -77');
    } finally {
      await session.close();
    }
  });

  it('reports protection on a memory access as DEVICE_PROTECTED for as long as the library says so', async () => {
    const fake = fakeNrfjprog({ failures: [{ code: -90, function: 'NRFJPROG_read_inst', count: 0 }] });
    const session = await fake.binding().open(1000);
    try {
      for (let i = 0; i < 3; i++) expect((await rejection(session.read(0, 16))).code).toBe('DEVICE_PROTECTED');
      expect(await session.readU32(0)).toBe(0xffffffff); // only the injected function fails
    } finally {
      await session.close();
    }
  });

  it.each([
    ['NRFJPROG_open_dll_inst', -100, 'JLINK_LIBRARY_NOT_FOUND'],
    ['NRFJPROG_enum_emu_snr_inst', -13, 'NO_PROBES'],
    ['NRFJPROG_connect_to_emu_with_snr_inst', -11, 'CANNOT_CONNECT'],
  ] as const)('fails open() when %s returns %i (%s) and leaves no instance behind', async (fn, vendorCode, code) => {
    const fake = fakeNrfjprog({ trace: true, failures: [{ code: vendorCode, function: fn }] });
    const binding = fake.binding();
    const error = await rejection(binding.open(1000));
    expect(error.code).toBe(code);
    expect(error.operation).toBe(fn);
    const trace = fake.readTrace();
    const opened = trace.filter((e) => e.function === 'NRFJPROG_open_dll_inst' && e.injected === undefined).length;
    expect(trace.filter((e) => e.function === 'NRFJPROG_close_dll_inst')).toHaveLength(opened);
    fakeNrfjprog(); // the same library, reconfigured without the failure
    const session = await binding.open(1000); // the failed open left the probe unclaimed
    await session.close();
  });

  it('fails list() with the mapped code', async () => {
    const fake = fakeNrfjprog({ failures: [{ code: -13, function: 'NRFJPROG_enum_emu_snr_inst' }] });
    const error = await rejection(fake.binding().list());
    expect(error.code).toBe('NO_PROBES');
    expect(error.vendorCode).toBe(-13);
  });
});
