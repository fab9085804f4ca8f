/**
 * Strings that identify an image to the simulator (as the sample's format strings identify a real
 * build), and the simulator-only knobs synthetic images carry.
 */

/** A string every build of the provisioning sample contains (its LOG_INF format strings). */
export const PROVISIONING_IMAGE_MARKER = 'Successfully verified PSA lifecycle state ASSEMBLY!';
/** A string every build of the network-core sample contains. */
export const NETWORK_IMAGE_MARKER = 'The UICR->APPROTECT register is now configured to deny debugging access for the network core!';
/** TF-M's boot banner ("Booting TF-M <version>"): an application image holding it runs the TF-M model. */
export const TFM_IMAGE_MARKER = 'Booting TF-M';
/** Simulator-only knobs for synthetic images: an image containing these strings configures the model. */
export const SIM_MARKER_IDENTITY_KEY_DUMMY = 'TFM_PROVISION_SIM:CONFIG_IDENTITY_KEY_DUMMY=y';
export const SIM_MARKER_IMPLEMENTATION_ID = 'TFM_PROVISION_SIM:IMPLEMENTATION_ID=';
/** A build for a board without SOC_NRF53_CPUNET_ENABLE: the image leaves the network core held off. */
export const SIM_MARKER_NO_CPUNET_ENABLE = 'TFM_PROVISION_SIM:CONFIG_SOC_NRF53_CPUNET_ENABLE=n';

/** TF-M's tfm_initial_attestation_key.pem private scalar (device-facts 4): the "dummy" identity key. */
export const DUMMY_IDENTITY_KEY_HEX = 'a9b454b26d6f90a4ea31193564cba91fec6f9a002a7dc0504b92a1937134585f';

/** Every log string of the two samples (device-facts 1.1, 1.2), as a real build contains them. */
export const PROVISIONING_IMAGE_STRINGS = [
  'Failure: Cannot read PSA lifecycle state. Exiting!',
  'Failure: Lifecycle state is not ASSEMBLY as expected. Exiting!',
  PROVISIONING_IMAGE_MARKER,
  'Failure: Cannot set PSA lifecycle state PROVISIONING. Exiting!',
  'Lifecycle state was %d',
  'Failure: Lifecycle state is not PROVISION as expected. Exiting!',
  'Successfully switched to PSA lifecycle state PROVISIONING!',
  'Generating random HUK keys (including MKEK)',
  'Failure: Identity key slot already written. Exiting!',
  'Writing the identity key to KMU',
  'Failure: Identity key is not written! Exiting!',
  'Success!',
];
export const NETWORK_IMAGE_STRINGS = ['Cannot write to the UICR->APPROTECT register, exiting...!', NETWORK_IMAGE_MARKER, 'Success!'];
