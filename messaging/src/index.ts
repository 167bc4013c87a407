export * from './contract.ts';
export * from './streams.ts';
