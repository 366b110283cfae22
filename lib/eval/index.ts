export * from './robustness';
export * from './sanity';
export * from './card';
export * from './curves';
export * from './transfer';
export * from './convergence';
export * from './claims';
