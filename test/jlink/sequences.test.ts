/**
 * The J-Link backend's debug-port sequences (native/jlink_sequences.cc) on their own, in the test
 * driver's scripted device: what each one transfers, in what order, and how it fails.
 */
import { runSequence } from './native/run-sequence';

const NVMC = 0x50039000;

describe('MEM-AP transfers (CSW / TAR / DRW)', () => {
  it('sets CSW to word size with auto-increment, TAR once, then one DRW per word', () => {
    const run = runSequence('memap-write', { ap: 1, csw: 0x23000000, address: 0x01ff8000, count: 2 });
    expect(run.ok).toBe(true);
    expect(run.trace).toEqual([
      'ap1 write 0x000 = 0x23000012',
      'ap1 write 0x004 = 0x01FF8000',
      'ap1 write 0x00C = 0x11111111',
      'ap1 write 0x00C = 0x22222222',
    ]);
  });

  it('rewrites TAR at each 1 KiB boundary, where auto-increment is not defined', () => {
    const run = runSequence('memap-read', { ap: 1, address: 0x3f8, count: 4 });
    expect(run.trace.filter((l) => l.startsWith('ap1 write 0x004'))).toEqual(['ap1 write 0x004 = 0x000003F8', 'ap1 write 0x004 = 0x00000400']);
    expect(run.trace.filter((l) => l.startsWith('ap1 read 0x00C'))).toHaveLength(4);
  });

  it('stops at the first failed transfer', () => {
    const run = runSequence('memap-write', { ap: 1, address: 0x100, count: 3, fail_ap: '1:0xC' });
    expect(run.ok).toBe(false);
    expect(run.trace.filter((l) => l.includes('0x00C'))).toEqual(['ap1 write 0x00C failed']);
  });
});

describe('AHB-AP lock test', () => {
  it('reads locked when CSW.DeviceEn is clear and open when it is set', () => {
    expect(runSequence('ap-lock', { ap: 1, 'ap:1:0': 0x23000002 }).result).toBe(true);
    expect(runSequence('ap-lock', { ap: 1, 'ap:1:0': 0x23000042 }).result).toBe(false);
  });
});

describe('CTRL-AP erase-all and reset', () => {
  it('writes ERASEALL = 1 and polls ERASEALLSTATUS until it reads 0', () => {
    const run = runSequence('ctrlap-erase-all', { ctrl_ap: 3, erase_busy: 2 });
    expect(run.ok).toBe(true);
    expect(run.trace[0]).toBe('ap3 write 0x004 = 0x00000001');
    expect(run.trace.filter((l) => l.startsWith('ap3 read 0x008'))).toEqual([
      'ap3 read 0x008 = 0x00000001',
      'ap3 read 0x008 = 0x00000001',
      'ap3 read 0x008 = 0x00000000',
    ]);
  });

  it('gives up with the given code when ERASEALLSTATUS never clears', () => {
    const run = runSequence('ctrlap-erase-all', { ctrl_ap: 2, erase_busy: -1, timeout_ms: 5 });
    expect(run.ok).toBe(false);
    expect(run.code).toBe('NVMC_TIMEOUT');
    expect(run.message).toMatch(/AP2\) erase-all did not finish within 5 ms/);
  });

  it('pulses RESET: 1, then 0', () => {
    const run = runSequence('ctrlap-reset', { ctrl_ap: 4 });
    expect(run.trace.filter((l) => !l.startsWith('sleep'))).toEqual(['ap4 write 0x000 = 0x00000001', 'ap4 write 0x000 = 0x00000000']);
  });
});

describe('NVMC protocol', () => {
  it('write: waits for READY, CONFIG = Wen, the words, READY, CONFIG = Ren', () => {
    const run = runSequence('nvmc-write', { nvmc: NVMC, address: 0x00ff8100, value: 0xfffeffff, ready_busy: 1 });
    expect(run.ok).toBe(true);
    expect(run.trace).toEqual([
      'mem read 0x50039400 = 0x00000000',
      'mem read 0x50039400 = 0x00000001',
      'mem write 0x50039504 = 0x00000001',
      'mem write 0x00FF8100 = 0xFFFEFFFF',
      'mem read 0x50039400 = 0x00000001',
      'mem write 0x50039504 = 0x00000000',
    ]);
  });

  it('page erase: CONFIG = Een and 0xFFFFFFFF to the first word of the page', () => {
    const run = runSequence('nvmc-erase-page', { nvmc: 0x41080000, address: 0x01000800 });
    expect(run.trace).toContain('mem write 0x41080504 = 0x00000002');
    expect(run.trace).toContain('mem write 0x01000800 = 0xFFFFFFFF');
    expect(run.trace[run.trace.length - 1]).toBe('mem write 0x41080504 = 0x00000000');
  });

  it('erase-all: CONFIG = Een, ERASEALL = 1', () => {
    const run = runSequence('nvmc-erase-all', { nvmc: NVMC });
    expect(run.trace).toContain('mem write 0x50039504 = 0x00000002');
    expect(run.trace).toContain('mem write 0x5003950C = 0x00000001');
  });

  it('puts CONFIG back to Ren when the write itself fails', () => {
    const run = runSequence('nvmc-write', { nvmc: NVMC, address: 0x2000, fail_mem: 0x2000 });
    expect(run.ok).toBe(false);
    expect(run.code).toBe('WRITE_FAILED');
    expect(run.trace[run.trace.length - 1]).toBe('mem write 0x50039504 = 0x00000000');
  });

  it('reports NVMC_TIMEOUT when READY never comes back, and does not touch CONFIG', () => {
    const run = runSequence('nvmc-write', { nvmc: NVMC, ready_busy: 1_000_000 });
    expect(run.code).toBe('NVMC_TIMEOUT');
    expect(run.trace.some((l) => l.startsWith('mem write'))).toBe(false);
  });
});

describe('debug lock per chip (issue 12.6)', () => {
  it('nRF5340 reads the AHB-AP CSW.DeviceEn', () => {
    const run = runSequence('core-lock', { family: 'NRF53', core: 'network', 'ap:1:0': 0x23000002 });
    expect(run.result).toBe(true);
    expect(run.trace).toEqual(['ap1 read 0x000 = 0x23000002']);
  });

  it('nRF91 reads CTRL-AP APPROTECTSTATUS (AP4 0x00C), not the AHB-AP', () => {
    expect(runSequence('core-lock', { family: 'NRF91', 'ap:4:0xC': 1 })).toMatchObject({ result: false, trace: ['ap4 read 0x00C = 0x00000001'] });
    expect(runSequence('core-lock', { family: 'NRF91', 'ap:4:0xC': 0 }).result).toBe(true);
  });
});

describe('network core FORCEOFF release (issue 12.3)', () => {
  it('waits for CSW.DeviceEn of a core that powers up, and gives up after the deadline', () => {
    const up = runSequence('wait-accessible', { family: 'NRF53', core: 'network', 'ap:1:0': 0x23000042, csw_disabled_reads: 3 });
    expect(up.result).toBe(true);
    expect(up.trace.filter((l) => l.startsWith('ap1 read'))).toHaveLength(4);
    const never = runSequence('wait-accessible', { family: 'NRF53', core: 'network', 'ap:1:0': 0x23000042, csw_disabled_reads: -1, timeout_ms: 20 });
    expect(never).toMatchObject({ ok: true, result: false });
  });

  it('uses the secure alias when SPU PERIPHID[5].PERM says secure, or has no PRESENT bit', () => {
    for (const perm of [0x80000012, 0]) {
      const run = runSequence('release-forceoff', { 'mem:0x50003814': perm, 'mem:0x50005614': 1 });
      expect(run.result).toBe(true);
      expect(run.trace).toContain('mem write 0x50005614 = 0x00000000');
    }
  });

  it('uses the non-secure alias when firmware made RESET non-secure', () => {
    const run = runSequence('release-forceoff', { 'mem:0x50003814': 0x80000002, 'mem:0x40005614': 1 });
    expect(run.trace).toContain('mem write 0x40005614 = 0x00000000');
    expect(run.trace.some((l) => l.includes('0x50005614'))).toBe(false);
  });

  it('leaves a released core alone', () => {
    const run = runSequence('release-forceoff', { 'mem:0x50003814': 0x80000012, 'mem:0x50005614': 0 });
    expect(run.result).toBe(false);
    expect(run.trace.some((l) => l.startsWith('mem write'))).toBe(false);
  });

  it('applies the erratum 161 sequence on affected silicon only (VAR1 7, VAR2 not 2..4)', () => {
    const affected = runSequence('release-forceoff', { 'mem:0x50003814': 0x80000012, 'mem:0x50005614': 1, 'mem:0x00ff0130': 7, 'mem:0x00ff0134': 5 });
    expect(affected.trace.filter((l) => l.startsWith('mem write'))).toEqual([
      'mem write 0x50005618 = 0x00000001',
      'mem write 0x50005614 = 0x00000000',
      'mem write 0x50005614 = 0x00000001',
      'mem write 0x50005614 = 0x00000000',
      'mem write 0x50005618 = 0x00000000',
    ]);
    const fixed = runSequence('release-forceoff', { 'mem:0x50003814': 0x80000012, 'mem:0x50005614': 1, 'mem:0x00ff0130': 7, 'mem:0x00ff0134': 3 });
    expect(fixed.trace.filter((l) => l.startsWith('mem write'))).toEqual(['mem write 0x50005614 = 0x00000000']);
  });
});
