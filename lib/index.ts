/** tfm-provision: public library API. */
export * from './errors';
export * from './probe/types';
export * from './targets';
export * from './random';
