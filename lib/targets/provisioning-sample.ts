/**
 * The NCS "TF-M: Provisioning image" sample's log strings: one home for the library (host strategy
 * events, image recognition, console classification) and the simulator's firmware model.
 *
 * Application image: nrfconnect/sdk-nrf samples/tfm/provisioning_image/src/main.c, the newest version
 * (the one with the CRACEN paths, which checks the return codes of hw_unique_key_write_random,
 * identity_key_write_* and provision_implementation_id; device-facts 1.1 for the lines it shares with
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

/** The application image's failure lines, in main.c order; each starts `Failure:`. */
export const SAMPLE_FAILURES = {
  cannotReadLifecycle: 'Failure: Cannot read PSA lifecycle state. Exiting!',
  notAssembly: 'Failure: Lifecycle state is not ASSEMBLY as expected. Exiting!',
  cannotSetProvisioning: 'Failure: Cannot set PSA lifecycle state PROVISIONING. Exiting!',
  /** Logged before notProvisioning with the state number read (enum lcs, see BL_STORAGE_LCS). */
  lifecycleWas: 'Lifecycle state was %d',
  notProvisioning: 'Failure: Lifecycle state is not PROVISION as expected. Exiting!',
  /** hw_unique_key_write_random() != HW_UNIQUE_KEY_SUCCESS (e.g. a HUK already set). */
  hukWriteFailed: 'Failure: Writing random HUK keys failed. Exiting!',
  identityKeyAlreadyWritten: 'Failure: Identity key slot already written. Exiting!',
  /** identity_key_write_random() / _dummy() != IDENTITY_KEY_SUCCESS (MKEK missing, store failed). */
  identityKeyWriteFailed: 'Failure: Identity key write failed! Exiting!',
  identityKeyNotWritten: 'Failure: Identity key is not written! Exiting!',
  /**
   * provision_implementation_id() != 0. Only CRACEN parts (nRF54L, RRAMC/MRAMC OTP writes) can fail:
   * on nRF53/nRF91 the sample writes with nrfx_nvmc_word_write (void) and returns 0, so this line
   * cannot occur on the chips here. Kept so that a console showing it is still named.
   */
  implementationIdWriteFailed: 'Failure: Writing implementation ID failed. Exiting!',
} as const;
export type SampleFailure = keyof typeof SAMPLE_FAILURES;

/** The line each failure of the application image is known by, with the error code the image strategy
 *  reports for it (lib/errors.ts). lifecycleWas is not a failure line of its own. */
export const SAMPLE_FAILURE_CODES = {
  cannotReadLifecycle: 'IMAGE_LIFECYCLE_READ_FAILED',
  notAssembly: 'IMAGE_LIFECYCLE_NOT_ASSEMBLY',
  cannotSetProvisioning: 'IMAGE_LIFECYCLE_UPDATE_FAILED',
  notProvisioning: 'IMAGE_LIFECYCLE_NOT_PROVISIONING',
  hukWriteFailed: 'IMAGE_HUK_WRITE_FAILED',
  identityKeyAlreadyWritten: 'IMAGE_IDENTITY_KEY_SLOT_WRITTEN',
  identityKeyWriteFailed: 'IMAGE_IDENTITY_KEY_WRITE_FAILED',
  identityKeyNotWritten: 'IMAGE_IDENTITY_KEY_NOT_WRITTEN',
  implementationIdWriteFailed: 'IMAGE_IMPLEMENTATION_ID_WRITE_FAILED',
} as const satisfies Partial<Record<SampleFailure, string>>;

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
  SAMPLE_FAILURES.hukWriteFailed,
  SAMPLE_FAILURES.identityKeyAlreadyWritten,
  SAMPLE_MESSAGES.writingIdentityKey,
  SAMPLE_FAILURES.identityKeyWriteFailed,
  SAMPLE_FAILURES.identityKeyNotWritten,
  SAMPLE_FAILURES.implementationIdWriteFailed,
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
