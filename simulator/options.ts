/** The simulator's options, their defaults, and the account names they give. */
import type { RateBucket, RateBudget, Resource } from '../zendesk/endpoints';
import type { CredentialOptions } from './auth';
import type { RateLimitAnswer, TooRecentAnswer } from './errors';
import type { Faults } from './faults';
import type { AccountHeaders } from './limits';
import type { EmptyFirstCursor, TimeBoundary } from './paging';

export interface SimulatorOptions extends CredentialOptions {
  /** @default 0: a free port */
  port?: number;
  /** @default 127.0.0.1 */
  host?: string;
  /** Data and seeded faults follow from it. @default 42 */
  seed?: number;
  /** Records per resource (ticket_events: the total). @default tickets 1000, users 500, organizations 100, ticket_events 2000 */
  sizes?: Partial<Record<Resource, number>>;
  /** Ticket events per ticket, instead of a total. */
  eventsPerTicket?: number;
  /** A number of accounts, or their names; the first is the default, served at the root. @default ['default'] */
  accounts?: number | string[];
  /** Versions are spread over this many seconds before `endTime`. @default 30 days */
  spanSeconds?: number;
  /** The newest generated version (epoch s). @default now - recentWindowSeconds - 1 */
  endTime?: number;
  /** This many records of each resource share one version second (a bulk update). @default 0 */
  sameSecond?: number;
  /** Grow a time-based page to the end of its last second, as Zendesk does; false: cut at per_page (the stuck variant). @default true */
  growPages?: boolean;
  /** A time-based page's end_time: its last record's second plus one (recorded), or that second (zenpy#451). @default 'next-second' */
  timeBoundary?: TimeBoundary;
  /** A first cursor call that finds nothing: no cursor (reported), or a cursor at its start_time. @default 'null' */
  emptyFirstCursor?: EmptyFirstCursor;
  /** start_time must be older, and newer versions are not served yet. @default 60 */
  recentWindowSeconds?: number;
  /** The 422 for a too recent start_time. @default 'json-5-minutes' (recorded) */
  tooRecentAnswer?: TooRecentAnswer;
  /** Budgets per bucket, or 'off'. Unlisted buckets keep the table's RATE_BUCKETS. */
  rateLimits?: 'off' | Partial<Record<RateBucket, RateBudget>>;
  /** The 429 body: the incremental exports' JSON (recorded) or the account limit's plain text. @default 'json' */
  rateLimitAnswer?: RateLimitAnswer;
  /** Account rate headers besides x-rate-limit: `ratelimit-*` (2024) or `rate-limit-*` (2023). @default 'ratelimit' */
  accountHeaders?: AccountHeaders;
  /** Send `zendesk-ratelimit-<bucket>` (seen live in 2026; absent from older recordings). @default true */
  bucketHeader?: boolean;
  faults?: Partial<Faults>;
  /** The clock, epoch ms (tests). @default Date.now */
  now?: () => number;
}

export const DEFAULT_SIZES: Readonly<Record<Resource, number>> = { tickets: 1000, users: 500, organizations: 100, ticket_events: 2000 };
export const DEFAULT_SEED = 42;
export const DEFAULT_RECENT_WINDOW_SECONDS = 60;
export const DEFAULT_SPAN_SECONDS = 30 * 86_400;

/** The account names of the `accounts` option; the first is the default. */
export function accountNames(accounts: SimulatorOptions['accounts']): string[] {
  if (accounts === undefined) return ['default'];
  if (typeof accounts === 'number') {
    if (!Number.isInteger(accounts) || accounts < 1) throw new RangeError('accounts: at least 1');
    return ['default', ...Array.from({ length: accounts - 1 }, (_, i) => `account${i + 2}`)];
  }
  if (!accounts.length || accounts.some((n) => !isAccountName(n))) throw new RangeError('accounts: names of letters, digits, "_", "." and "-"');
  return [...new Set(accounts)];
}

export const isAccountName = (name: string): boolean => /^[\w.-]+$/.test(name);
