export * from './robustness';
export * from './sanity';
export * from './card';
