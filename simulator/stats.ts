/** What the simulator counts: requests, answers, limits, tokens, faults and the records it generated. */
import type { EndpointId } from '../zendesk/endpoints';
import type { FaultCounts } from './faults';
import type { RateUsage } from './limits';

export interface SimulatorStats extends RateUsage {
  /** Requests to the export endpoints (and unknown API paths), whatever their answer. */
  requests: number;
  requestsByEndpoint: Partial<Record<EndpointId, number>>;
  requestsByAccount: Record<string, number>;
  statuses: Record<number, number>;
  /** Access tokens issued (any grant), and refresh grants among them. */
  tokensIssued: number;
  tokensRefreshed: number;
  /** Refresh tokens refused (`invalid_grant`): spent already, or revoked. */
  refreshesRefused: number;
  faults: FaultCounts;
  /** Records generated to serve pages, sideloads and the oracle: none are stored, so this is the work done. */
  recordsGenerated: number;
}

/** The counters the server keeps itself (rate usage and faults are kept by their modules). */
export type RequestCounts = Pick<SimulatorStats, 'requests' | 'requestsByEndpoint' | 'requestsByAccount' | 'statuses' | 'tokensIssued' | 'tokensRefreshed' | 'refreshesRefused'>;

export const noRequestCounts = (): RequestCounts => ({ requests: 0, requestsByEndpoint: {}, requestsByAccount: {}, statuses: {}, tokensIssued: 0, tokensRefreshed: 0, refreshesRefused: 0 });
