/** What startSimulator gives back: the running simulator, its oracle, and its run-time controls. */
import type { Resource, SupportTypeScope } from '../zendesk/endpoints';
import { DEFAULT_API_TOKEN } from './auth';
import type { Faults } from './faults';
import type { SimulatorStats } from './stats';

export interface ExpectedOptions {
  /** @default 'agent', as the API */
  supportTypeScope?: SupportTypeScope;
  excludeDeleted?: boolean;
  /** Only versions at or after this second. @default 0 */
  startTime?: number;
  /** Ticket events as `include=comment_events` serves them, comments among their child events. */
  commentEvents?: boolean;
}

export interface Simulator {
  /** Base URL of the default account. */
  url: string;
  port: number;
  accountUrl(name: string): string;
  stats(): SimulatorStats;
  resetStats(): void;
  /** The oracle: the newest version of every record a full export delivers, in (version, id) order, as a client parses it. */
  expected(account: string | undefined, resource: Resource, opts?: ExpectedOptions): Record<string, unknown>[];
  /** The same, one record at a time (for big accounts). */
  iterateExpected(account: string | undefined, resource: Resource, opts?: ExpectedOptions): Generator<Record<string, unknown>>;
  /** The same records as the exact JSON text they are served as, for byte-exact comparisons. */
  expectedText(account: string | undefined, resource: Resource, opts?: ExpectedOptions): string[];
  iterateExpectedText(account: string | undefined, resource: Resource, opts?: ExpectedOptions): Generator<string>;
  /** A sideloaded object (`metric_sets`, `groups`, ...) of the record `id` as served now, as a client parses it; undefined if none. */
  expectedSideload(account: string | undefined, sideload: string, id: number): Record<string, unknown> | undefined;
  /** A new version of the record stamped now; returns it. */
  updateRecord(account: string | undefined, resource: Resource, id: number): Record<string, unknown>;
  /** New records stamped now; returns their ids. */
  addRecords(account: string | undefined, resource: Resource, n: number): number[];
  setFaults(faults: Partial<Faults>): void;
  /** Revokes the OAuth grant a refresh or access token belongs to, as an admin does in Zendesk; false if none. */
  revokeGrant(token: string): boolean;
  faults(): Faults;
  close(): Promise<void>;
}

/**
 * What a worker needs to export from this simulator with its default API token, as it reads it from its
 * environment; `perAccount` points each account at its own simulated account (`/accounts/<name>`).
 */
export function simulatorWorkerEnv(sim: Pick<Simulator, 'url'>, options: { perAccount?: boolean } = {}): Record<string, string> {
  return {
    ZENDESK_BASE_URL: options.perAccount ? `${sim.url}/accounts/{account}` : sim.url,
    ZENDESK_EMAIL: DEFAULT_API_TOKEN.email,
    ZENDESK_API_TOKEN: DEFAULT_API_TOKEN.token,
    // The simulator is not Zendesk: its limits are what a test or the demo sets, up to the highest budget.
    ZENDESK_RATE_CEILING: SIMULATOR_RATE_CEILING,
  };
}

/** The workers' ceiling for the simulator: every bucket at the highest budget an export may ask for. */
export const SIMULATOR_RATE_CEILING = 'incremental-exports=1000/1,incremental-exports-cursor=1000/1,sample=1000/1';
