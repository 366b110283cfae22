// What notebooks import: `import * as gr from './lib/index'` (tslab loads files, not directories: name the index).
export * from './types';
export * from './backend';
export * as safe from './tf/safe-ops';
export { gradCheck, gradCheckVariables } from './tf/gradcheck';
export * from './experiment/index';
export * from './data/index';
export * from './models/index';
export * from './train/index';
export * from './report/index';
export * from './regularizers/index';
export * from './attacks/index';
export * from './eval/index';
export * from './jobs/index';
export * from './stats/index';
export * from './saliency/index';
export * from './util/map-in-order';
