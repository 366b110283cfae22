export * from './layers';
export * from './sequential';
export * from './zoo';
