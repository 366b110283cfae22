export * from './profiles';
export * from './params';
export * from './methods';
