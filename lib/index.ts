// What notebooks import: `import * as gr from './lib'`.
export * from './types';
export * from './backend';
export * as safe from './tf/safe-ops';
export { gradCheck, gradCheckVariables } from './tf/gradcheck';
export * from './experiment';
export * from './data';
export * from './models';
export * from './train';
