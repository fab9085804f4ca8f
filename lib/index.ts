/** tfm-provision: public library API. */
export * from './errors';
export * from './probe/types';
export * from './targets';
export * from './random';
export { NativeBinding, openBinding, type NativeBindingOptions, type NativeBackendName } from './probe/native';
export * from './provision';
export { modelIdentityKeyWrapper, wrapIdentityKeyModel, unwrapIdentityKeyModel, type IdentityKeyWrapper, type IdentityKeyWrapInput } from './keys';
export type { LifecycleState } from './device/lifecycle';
