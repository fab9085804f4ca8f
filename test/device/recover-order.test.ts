import { recoverOrder } from '../../lib/device/recover';
import { TfmError } from '../../lib/errors';
import { TARGETS } from '../../lib/targets';

function thrown(fn: () => unknown): TfmError {
  try {
    fn();
  } catch (error) {
    return error as TfmError;
  }
  throw new Error('expected a TfmError');
}

describe('recover order comes from the target data', () => {
  test('nRF5340: network core before the application core, as its target lists them', () => {
    expect(TARGETS.nrf5340.recoveryOrder).toEqual(['network', 'application']);
    expect(recoverOrder('NRF53', 'all')).toEqual(['network', 'application']);
    expect(recoverOrder('NRF53', 'network')).toEqual(['network']);
    expect(recoverOrder('NRF53', 'application')).toEqual(['application']);
  });

  test('nRF91 parts: the application core only; asking for a network core is a usage error', () => {
    for (const chip of ['nrf9160', 'nrf9161', 'nrf9151'] as const) expect(TARGETS[chip].recoveryOrder).toEqual(['application']);
    expect(recoverOrder('NRF91', 'all')).toEqual(['application']);
    expect(recoverOrder('NRF91', 'application')).toEqual(['application']);
    const e = thrown(() => recoverOrder('NRF91', 'network'));
    expect(e.code).toBe('USAGE');
    expect(e.message).toBe('nRF91 devices have no network core; use --core application (or all).');
  });

  test('an unidentified family is refused before anything is erased', () => {
    expect(thrown(() => recoverOrder('UNKNOWN', 'all')).code).toBe('UNKNOWN_DEVICE');
  });

  test('the returned order is a copy: changing it does not change the target', () => {
    const order = recoverOrder('NRF53', 'all');
    order.reverse();
    expect(TARGETS.nrf5340.recoveryOrder).toEqual(['network', 'application']);
  });
});
