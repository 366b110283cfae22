export * from './profiles';
export * from './params';
export * from './methods';
export * from './monitored-training';
export * from './matched-budgets';
export * from './lambda-selection';
