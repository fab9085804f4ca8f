/**
 * The network-core child image (nrfconnect/sdk-nrf samples/tfm/provisioning_image_net_core/src/main.c;
 * device-facts 1.2): network UICR.APPROTECT = 0, then its two printk lines.
 */
import { NETWORK_SAMPLE_MESSAGES } from '../../targets/provisioning-sample';
import { NETWORK_IMAGE_MARKER } from './markers';
import { bootDelay, Cpu, nvmcWriteWords, type FirmwareHost, type FirmwareModelSpec, type Model } from './model';

export function* networkImageModel(host: FirmwareHost): Model {
  const cpu = new Cpu(host, 'network');
  yield* bootDelay(cpu, 5_000);
  // nrfx_nvmc_word_writable_check(&APPROTECT, 0) is always true: (0 & current) == 0.
  yield* nvmcWriteWords(cpu, [[host.target.network!.approtect, host.target.uicr.approtectProtected]]);
  cpu.printk(NETWORK_SAMPLE_MESSAGES.approtectConfigured);
  cpu.printk(NETWORK_SAMPLE_MESSAGES.success);
  return { kind: 'network-image', ok: true, message: NETWORK_SAMPLE_MESSAGES.success };
}

export const networkImage: FirmwareModelSpec<true> = {
  kind: 'network-image',
  core: 'network',
  recognise: (image) => (image.has(NETWORK_IMAGE_MARKER) ? true : undefined),
  start: (host) => networkImageModel(host),
};
