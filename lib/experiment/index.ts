export * from './profiles';
export * from './params';
