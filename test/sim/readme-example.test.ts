import { createPresetDevice, createSimProbe } from '../../lib/testing';

test('a simulated nRF5340: probe it, break it, boot TF-M on it', async () => {
  // A fresh device (lifecycle ASSEMBLY) behind an opened simulated probe.
  const { device, session, binding } = await createSimProbe({ chip: 'nrf5340', deviceId: '0123456789abcdef' });
  const lifecycleWord = device.target.lifecycle.provisioning; // 0x00FF8100

  // The chip ignores a UICR write without NVMC write mode; the simulator records it.
  await session.writeU32(lifecycleWord, 0xffff0000);
  expect(device.violations.map((v) => v.kind)).toEqual(['WRITE_WITHOUT_WEN']);
  await session.writeU32(lifecycleWord, 0xffff0000, { nvmc: true });
  expect(device.lifecycle).toBe('PROVISIONING');

  // The next probe operation fails as if the cable had been pulled.
  binding.injectFault(session.serialNumber, { atOperation: binding.operationCount(session.serialNumber), kind: 'disconnect' });
  await expect(session.readU32(lifecycleWord)).rejects.toMatchObject({ code: 'PROBE_DISCONNECTED' });

  // TF-M's first boot writes its own HUKs, then refuses a device without an identity key...
  expect(device.bootTfm()).toMatchObject({ ok: false, errorCode: 'IDENTITY_KEY_MISSING', hukWritten: true });

  // ...and secures one the stock provisioning image has provisioned, reporting its attestation identity.
  const provisioned = createPresetDevice({ chip: 'nrf5340', preset: 'provisioned' });
  expect(provisioned.bootTfm()).toMatchObject({ ok: true, lifecycle: 'SECURED', instanceId: expect.stringMatching(/^01/) });
});
