/**
 * What a user asks for, checked and turned into a workflow input. Every mistake becomes a UserError
 * with one sentence that says what is wrong and what would be right.
 */
import path from 'node:path';
import { chooseEndpoint, endpointSpec, isResource, defaultBudget, RESOURCES, type Paging, type RateBudget, type Resource } from '../zendesk/endpoints';
import type { PageOptions, Position } from '../zendesk/page';
import type { Destination, ExportInput } from '../workflows/types';

/** A mistake in what was asked: shown as one sentence, never with a stack trace. */
export class UserError extends Error {
  override readonly name = 'UserError';
}

export interface ExportRequest {
  /** The account's subdomain (`acme` for acme.zendesk.com). */
  account: string;
  resource: Resource | string;
  /** Cursor or time-based paging. @default cursor where the resource has it, else time */
  mode?: Paging;
  /** Use the sample endpoint (50 records a page, 10 requests per 20 minutes). */
  sample?: boolean;
  /** Unix seconds, an ISO date, or a Date. Required unless `cursor` is given. */
  startTime?: number | string | Date;
  /** A cursor saved from an earlier cursor-based export. */
  cursor?: string;
  perPage?: number;
  include?: readonly string[];
  excludeDeleted?: boolean;
  /** @default 'all' (Zendesk's own default, `agent`, leaves out tickets handled by AI agents) */
  supportTypeScope?: 'all' | 'agent' | 'ai_agent';
  /** An output folder for NDJSON, or a `postgres://` URL (without its password). */
  destination: string | Destination;
  /** The account's budget for the endpoint's bucket, e.g. `{requests: 30, seconds: 60}` with High Volume. */
  rateLimit?: RateBudget;
  /** Keep polling every this many seconds after catching up. */
  followIntervalSeconds?: number;
  maxPagesPerRun?: number;
}

/** Unix seconds from `1700000000`, `2024-01-31`, `2024-01-31T12:00:00Z` or a Date. */
export function parseStartTime(value: number | string | Date, nowMs = Date.now()): number {
  let seconds: number;
  if (value instanceof Date) seconds = Math.floor(value.getTime() / 1000);
  else if (typeof value === 'number' || /^\d+$/.test(value.trim())) seconds = Number(value);
  else if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim())) seconds = Math.floor(Date.parse(value.trim()) / 1000);
  else seconds = NaN;
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new UserError(`Start time "${String(value)}" is neither Unix seconds nor an ISO date such as 2024-01-31T00:00:00Z.`);
  }
  // Zendesk rejects start times within the last minute (and in the future) with a 422.
  if (seconds > Math.floor(nowMs / 1000) - 60) {
    throw new UserError(`Start time ${new Date(seconds * 1000).toISOString()} must be at least one minute in the past.`);
  }
  return seconds;
}

/** `10/60` → 10 requests per 60 seconds. */
export function parseRateLimit(text: string): RateBudget {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
    throw new UserError(`Rate limit "${text}" must look like N/SECONDS, for example 10/60 (or 30/60 with High Volume).`);
  }
  return { requests: Number(match[1]), seconds: Number(match[2]) };
}

export function parseDestination(value: string | Destination): Destination {
  if (typeof value !== 'string') return value;
  if (/^postgres(ql)?:\/\//.test(value)) {
    const url = new URL(value);
    if (url.password) throw new UserError('Put the Postgres password in PGPASSWORD for the worker, not in the URL: it would be stored in workflow history.');
    return { kind: 'postgres', url: value };
  }
  if (!value.trim()) throw new UserError('The output folder is empty; give one with --out <dir>.');
  return { kind: 'ndjson', dir: path.resolve(value) };
}

/** Checks a request and builds the workflow input. Throws UserError. */
export function toExportInput(request: ExportRequest, nowMs = Date.now()): ExportInput {
  if (!request.account || !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(request.account)) {
    throw new UserError(`Account "${request.account ?? ''}" is not a Zendesk subdomain; set ZENDESK_SUBDOMAIN or pass --account.`);
  }
  if (!isResource(request.resource)) {
    throw new UserError(`Unknown resource "${request.resource}". Choose one of: ${RESOURCES.join(', ')}.`);
  }
  if (request.mode !== undefined && request.mode !== 'cursor' && request.mode !== 'time') {
    throw new UserError(`Unknown mode "${String(request.mode)}". Choose cursor or time.`);
  }
  const chosen = chooseEndpoint(request.resource, { mode: request.mode, sample: request.sample });
  if ('error' in chosen) throw new UserError(chosen.error);
  const endpoint = chosen.endpoint;

  let start: Position;
  if (request.cursor) {
    if (endpoint.paging !== 'cursor') throw new UserError(`A cursor only works with cursor mode; ${endpoint.id} is time-based.`);
    start = { kind: 'cursor', startTime: request.startTime === undefined ? 0 : parseStartTime(request.startTime, nowMs), cursor: request.cursor };
  } else {
    if (request.startTime === undefined) throw new UserError('Give a start time: --start-time <unix seconds or ISO date> (0 exports everything).');
    const startTime = parseStartTime(request.startTime, nowMs);
    start = endpoint.paging === 'cursor' ? { kind: 'cursor', startTime, cursor: null } : { kind: 'time', startTime };
  }

  const options: PageOptions = { supportTypeScope: request.supportTypeScope ?? 'all' };
  const accepts = (p: string) => (endpoint.params as readonly string[]).includes(p);
  if (request.perPage !== undefined) {
    if (!accepts('per_page')) throw new UserError(`The ${endpoint.id} endpoint does not take a page size.`);
    if (!Number.isInteger(request.perPage) || request.perPage < 1 || request.perPage > endpoint.maxPerPage) {
      throw new UserError(`Page size ${request.perPage} is out of range: use 1 to ${endpoint.maxPerPage}.`);
    }
    options.perPage = request.perPage;
  }
  if (request.include?.length) {
    const known = Object.keys(endpoint.sideloads);
    const unknown = request.include.filter((name) => !known.includes(name));
    if (unknown.length) {
      throw new UserError(
        `The ${endpoint.id} endpoint has no sideload ${unknown.map((u) => `"${u}"`).join(', ')}` +
          (known.length ? `; choose from: ${known.join(', ')}.` : '; it takes none.'),
      );
    }
    options.include = [...request.include];
  }
  if (request.excludeDeleted) {
    if (!accepts('exclude_deleted')) throw new UserError(`--exclude-deleted applies to ticket exports only, not ${endpoint.id}.`);
    options.excludeDeleted = true;
  }
  if (request.followIntervalSeconds !== undefined && !(request.followIntervalSeconds >= 1)) {
    throw new UserError('The follow interval must be at least 1 second.');
  }
  return {
    account: request.account,
    resource: request.resource,
    endpoint: endpoint.id,
    start,
    options,
    destination: parseDestination(request.destination),
    budget: request.rateLimit ?? defaultBudget(endpointSpec(endpoint.id).bucket),
    followIntervalSeconds: request.followIntervalSeconds,
    maxPagesPerRun: request.maxPagesPerRun,
  };
}
