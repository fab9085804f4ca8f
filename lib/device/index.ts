/** device/: nRF memory semantics as intentions (lifecycle, KMU slots, UICR, network-core lock). */
export * from './types';
export * from './counting-session';
export * from './ficr';
export * from './lifecycle';
export * from './kmu';
export * from './uicr';
export * from './network-core';
