/** The Zendesk-compatible simulator: for tests, the demo and the benchmarks. */
export { startSimulator } from './server';
export { SIMULATOR_RATE_CEILING, simulatorWorkerEnv } from './handle';
export type { Simulator, ExpectedOptions } from './handle';
export { DEFAULT_SIZES, accountNames } from './options';
export type { SimulatorOptions } from './options';
export type { SimulatorStats } from './stats';
export { DEFAULT_API_TOKEN, DEFAULT_OAUTH } from './auth';
export { DEFAULT_FAULTS } from './faults';
export type { Faults } from './faults';
export { encodeCursor, decodeCursor } from './page-request';
export { seededRandom } from './random';
export type { TimeBoundary, EmptyFirstCursor } from './paging';
export type { RateLimitAnswer, TooRecentAnswer } from './errors';
export type { AccountHeaders } from './limits';
export type { Resource, RateBucket, RateBudget, SupportTypeScope } from '../zendesk/endpoints';
