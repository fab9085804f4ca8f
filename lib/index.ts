/** tfm-provision: public library API. */
export * from './errors';
export * from './probe/types';
export * from './targets';
export * from './random';
export { NativeBinding, openBinding, type NativeBindingOptions, type NativeBackendName } from './probe/native';
