/**
 * The NCS "TF-M: Provisioning image" sample's log strings: one home for the library (host strategy
 * events, image recognition, console classification) and the simulator's firmware model.
 *
 * Application image: nrfconnect/sdk-nrf samples/tfm/provisioning_image/src/main.c (device-facts 1.1,
 * commit 3fc220df), LOG_INF lines of module `provisioning_image`. Network image:
 * samples/tfm/provisioning_image_net_core/src/main.c (device-facts 1.2), printk lines.
 */

/** The five lines a successful run of the application image logs, in order (main.c steps 3, 6, 7, 9, 12). */
export const SAMPLE_MESSAGES = {
  lifecycleAssembly: 'Successfully verified PSA lifecycle state ASSEMBLY!',
  lifecycleProvisioning: 'Successfully switched to PSA lifecycle state PROVISIONING!',
  generatingHuks: 'Generating random HUK keys (including MKEK)',
  writingIdentityKey: 'Writing the identity key to KMU',
  success: 'Success!',
} as const;
export type SampleMessage = (typeof SAMPLE_MESSAGES)[keyof typeof SAMPLE_MESSAGES];

/** The application image's failure lines (main.c steps 1, 2, 4, 5, 8, 10); each starts `Failure:`. */
export const SAMPLE_FAILURES = {
  cannotReadLifecycle: 'Failure: Cannot read PSA lifecycle state. Exiting!',
  notAssembly: 'Failure: Lifecycle state is not ASSEMBLY as expected. Exiting!',
  cannotSetProvisioning: 'Failure: Cannot set PSA lifecycle state PROVISIONING. Exiting!',
  /** Logged before notProvisioning with the state number read (enum lcs, see BL_STORAGE_LCS). */
  lifecycleWas: 'Lifecycle state was %d',
  notProvisioning: 'Failure: Lifecycle state is not PROVISION as expected. Exiting!',
  identityKeyAlreadyWritten: 'Failure: Identity key slot already written. Exiting!',
  identityKeyNotWritten: 'Failure: Identity key is not written! Exiting!',
} as const;

/** The prefix every application-image error line carries. */
export const SAMPLE_FAILURE_PREFIX = 'Failure:';

/** The network-core image's lines: its one error, its confirmation, and the shared `Success!`. */
export const NETWORK_SAMPLE_MESSAGES = {
  cannotWriteApprotect: 'Cannot write to the UICR->APPROTECT register, exiting...!',
  approtectConfigured: 'The UICR->APPROTECT register is now configured to deny debugging access for the network core!',
  success: SAMPLE_MESSAGES.success,
} as const;

/** How the network image's error line starts (matched as a prefix, as other builds may word the tail differently). */
export const NETWORK_SAMPLE_FAILURE_PREFIX = 'Cannot write to the UICR->APPROTECT register';

/** Every log string of the application image, in the order main.c holds them (as a build contains them). */
export const PROVISIONING_IMAGE_STRINGS: readonly string[] = [
  SAMPLE_FAILURES.cannotReadLifecycle,
  SAMPLE_FAILURES.notAssembly,
  SAMPLE_MESSAGES.lifecycleAssembly,
  SAMPLE_FAILURES.cannotSetProvisioning,
  SAMPLE_FAILURES.lifecycleWas,
  SAMPLE_FAILURES.notProvisioning,
  SAMPLE_MESSAGES.lifecycleProvisioning,
  SAMPLE_MESSAGES.generatingHuks,
  SAMPLE_FAILURES.identityKeyAlreadyWritten,
  SAMPLE_MESSAGES.writingIdentityKey,
  SAMPLE_FAILURES.identityKeyNotWritten,
  SAMPLE_MESSAGES.success,
];
/** Every log string of the network-core image, in source order. */
export const NETWORK_IMAGE_STRINGS: readonly string[] = [
  NETWORK_SAMPLE_MESSAGES.cannotWriteApprotect,
  NETWORK_SAMPLE_MESSAGES.approtectConfigured,
  NETWORK_SAMPLE_MESSAGES.success,
];

/**
 * Strings that identify a build of each image in its read-only data (Zephyr keeps LOG_INF and printk
 * format strings in flash unless dictionary logging is on). Distinctive ones only: a generic
 * "Success!" proves nothing.
 */
export const PROVISIONING_IMAGE_MARKERS: readonly string[] = [
  SAMPLE_MESSAGES.lifecycleAssembly,
  SAMPLE_MESSAGES.generatingHuks,
  SAMPLE_MESSAGES.writingIdentityKey,
];
export const NETWORK_IMAGE_MARKERS: readonly string[] = [NETWORK_SAMPLE_MESSAGES.approtectConfigured];
