/** keys/: key material for provisioning (HUKs, identity key) and the identity-key wrapping. */
export * from './wrapping-model';
export * from './huk';
export * from './identity';
export * from './instance-id';
export { modelIdentityKeyWrapper, isIdentityKeyWrapper, isModelWrapper, type IdentityKeyWrapper, type IdentityKeyWrapInput } from './wrapper';
