/** PSA attestation tokens: verify a device's token against what the station registered. */
export { NONCE_LENGTHS, verifyAttestationToken, attestationError, type VerifyAttestationOptions, type AttestationResult, type AttestationCheck, type AttestationClaims, type CheckName, type CheckStatus, type SoftwareComponent } from './verify';
export { recordsLookup, recordsLookupFromFile, registryLookup, staticLookup, type AttestationLookup, type InstanceIdDirectory, type RegisteredDevice, type RecordsIndex, type StaticEntry } from './lookup';
export { instanceIdUnder, coseKeyOf, isInstanceIdFormula, INSTANCE_ID_FORMULAS, type InstanceIdFormula } from './instance-id';
export { decodeCoseSign1, sigStructure, rawSignatureToDer, derSignatureToRaw, COSE_SIGN1_TAG, COSE_ALG_ES256, type CoseSign1 } from './cose';
export * from './profiles';
