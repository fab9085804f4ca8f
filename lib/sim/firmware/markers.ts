/**
 * Strings that identify an image to the simulator (as the sample's format strings identify a real
 * build), and the simulator-only knobs synthetic images carry. The sample's own strings are target
 * facts (lib/targets/provisioning-sample.ts).
 */
import { NETWORK_IMAGE_STRINGS, NETWORK_SAMPLE_MESSAGES, PROVISIONING_IMAGE_STRINGS, SAMPLE_MESSAGES } from '../../targets/provisioning-sample';

/** A string every build of the provisioning sample contains (its LOG_INF format strings). */
export const PROVISIONING_IMAGE_MARKER = SAMPLE_MESSAGES.lifecycleAssembly;
/** A string every build of the network-core sample contains. */
export const NETWORK_IMAGE_MARKER = NETWORK_SAMPLE_MESSAGES.approtectConfigured;
/** TF-M's boot banner ("Booting TF-M <version>"): an application image holding it runs the TF-M model. */
export const TFM_IMAGE_MARKER = 'Booting TF-M';
/** Simulator-only knobs for synthetic images: an image containing these strings configures the model. */
export const SIM_MARKER_IDENTITY_KEY_DUMMY = 'TFM_PROVISION_SIM:CONFIG_IDENTITY_KEY_DUMMY=y';
export const SIM_MARKER_IMPLEMENTATION_ID = 'TFM_PROVISION_SIM:IMPLEMENTATION_ID=';
/** A build for a board without SOC_NRF53_CPUNET_ENABLE: the image leaves the network core held off. */
export const SIM_MARKER_NO_CPUNET_ENABLE = 'TFM_PROVISION_SIM:CONFIG_SOC_NRF53_CPUNET_ENABLE=n';

/** TF-M builds (synthetic TF-M images): Kconfig choices other than the model's defaults. */
export const SIM_MARKER_TFM_PROFILE_PSA_2_0_0 = 'TFM_PROVISION_SIM:CONFIG_TFM_ATTEST_TOKEN_PROFILE_PSA_2_0_0=y';
export const SIM_MARKER_TFM_NO_APPROTECT_LOCK = 'TFM_PROVISION_SIM:CONFIG_NRF_APPROTECT_LOCK=n';
export const SIM_MARKER_TFM_NO_HUK_RANDOM = 'TFM_PROVISION_SIM:CONFIG_HW_UNIQUE_KEY_RANDOM=n';
export const SIM_MARKER_TFM_NO_B0N = 'TFM_PROVISION_SIM:CONFIG_TFM_HAS_B0N=n';

/** TF-M's tfm_initial_attestation_key.pem private scalar (device-facts 4): the "dummy" identity key. */
export const DUMMY_IDENTITY_KEY_HEX = 'a9b454b26d6f90a4ea31193564cba91fec6f9a002a7dc0504b92a1937134585f';

/** Every log string of the two samples (lib/targets/provisioning-sample.ts), as a real build contains them. */
export { NETWORK_IMAGE_STRINGS, PROVISIONING_IMAGE_STRINGS };
