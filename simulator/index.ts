/** The Zendesk-compatible simulator: for tests, the demo and the benchmarks. */
export { startSimulator, DEFAULT_API_TOKEN, DEFAULT_OAUTH } from './server';
export type { Simulator, SimulatorOptions, SimulatorStats, Faults, ExpectedOptions } from './server';
