export * from './trainer';
export * from './optimizers';
export * from './checkpoint';
export * from './accuracy';
export * from './augment';
export * from './terms';
export * from './adversarial';
