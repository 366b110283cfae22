// Statistics on every number: intervals, paired tests, seed aggregation, formatting at the resolution n supports.
export * from './intervals';
export * from './mcnemar';
export * from './aggregate';
export * from './format';
export * from './over-seeds';
export { betaQuantile, binomialCdf, logGamma, normalCdf, normalQuantile, regIncBeta, studentTCdf, studentTQuantile } from './special';
