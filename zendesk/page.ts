/**
 * Pages and positions: what one request to an export endpoint asks for and what it returns.
 * Pure: workflow code imports the types and the position helpers.
 */
import type { Resource, SupportTypeScope } from './endpoints';

/** A record's fields as JSON.parse gives them. */
export type ZendeskRecord = Record<string, unknown> & { id?: unknown };

/** The version field of sideloaded records (users, groups, ...), which all carry `updated_at`. */
export const SIDELOAD_VERSION_FIELD = 'updated_at';

/**
 * The fields of a record the export reasons about (paging, repeats, keys): its id and version, and a
 * sideload's version. Only these are parsed; every other field travels in the record's text.
 */
export function reasonedFields(versionField: string): string[] {
  return [...new Set(['id', versionField, SIDELOAD_VERSION_FIELD])];
}

/** A record's reasoned fields, for reasoning, and its exact text, for writing. */
export interface PageRecord {
  /** The fields of `reasonedFields` the record has, parsed; no others. */
  value: ZendeskRecord;
  /** The record's JSON exactly as Zendesk sent it (whitespace between tokens removed). */
  text: string;
}

/**
 * Where the next request starts. Time-based exports carry the next `start_time`; cursor exports carry
 * the cursor once Zendesk has handed one out, and the `start_time` they began from until then (an
 * empty first cursor page may come back without a cursor).
 */
export type Position = { kind: 'time'; startTime: number } | { kind: 'cursor'; startTime: number; cursor: string | null };

/** The request options of one page, as the endpoint table allows them. */
export interface PageOptions {
  perPage?: number;
  include?: readonly string[];
  excludeDeleted?: boolean;
  supportTypeScope?: SupportTypeScope;
}

/** The state of a rate-limit bucket, read from the response headers. */
export interface RateLimitState {
  /** The bucket's header name, e.g. `zendesk-ratelimit-incremental-exports`, when Zendesk sent it. */
  bucket?: string;
  total?: number;
  remaining?: number;
  /** Seconds until the bucket refills. */
  resetsSeconds?: number;
  /** `X-Rate-Limit`: the plan's account-wide limit per minute, not the export bucket. */
  accountLimit?: number;
  accountRemaining?: number;
}

/** One page of an export as Zendesk answered it, before any paging decision. */
export interface Page {
  resource: Resource;
  records: PageRecord[];
  /** Top-level sideload arrays by name (`users`, `groups`, ...). */
  sideloads: Record<string, PageRecord[]>;
  endOfStream: boolean;
  /** Time-based pages: `end_time`, or the `start_time` of `next_page` when `end_time` is missing. */
  endTime?: number;
  /** Cursor pages: `after_cursor`, null when Zendesk gave none. */
  afterCursor?: string | null;
  rateLimit: RateLimitState;
}

/** The epoch second of a record's version field (an integer, or an ISO date for users/organizations). */
export function versionSecond(record: ZendeskRecord, versionField: string): number | undefined {
  const value = record[versionField];
  if (typeof value === 'number' && Number.isFinite(value)) return Math.floor(value);
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return Math.floor(ms / 1000);
  }
  return undefined;
}

/** The key that names one version of a record: `id@second`. */
export function versionKey(record: ZendeskRecord, versionField: string): string {
  return `${String(record.id)}@${versionSecond(record, versionField) ?? '?'}`;
}

/** A position in words, for logs, progress and the UI. */
export function describePosition(position: Position): string {
  if (position.kind === 'cursor' && position.cursor) return `cursor ${position.cursor}`;
  return `start_time ${position.startTime} (${new Date(position.startTime * 1000).toISOString()})`;
}
