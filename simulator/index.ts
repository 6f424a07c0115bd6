/** The Zendesk-compatible simulator: for tests, the demo and the benchmarks. */
export { startSimulator, encodeCursor, decodeCursor, DEFAULT_API_TOKEN, DEFAULT_OAUTH, DEFAULT_SIZES, DEFAULT_FAULTS, seededRandom, simulatorWorkerEnv } from './server';
export type { Simulator, SimulatorOptions, SimulatorStats, Faults, ExpectedOptions, SupportTypeScope } from './server';
export type { Resource, RateBucket, RateBudget } from '../zendesk/endpoints';
