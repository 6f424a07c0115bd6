/**
 * What a user asks for, checked and turned into a workflow input. Every mistake becomes a UserError
 * with one sentence that says what is wrong and what would be right.
 */
import path from 'node:path';
import { checkAccount, checkBudget, checkBudgetChange, checkDestination, checkExportInput, type DestinationRef, type ExportInput } from '../contract/export';
import type { Problem } from '../contract/problem';
import { printable } from '../zendesk/account';
import { DEFAULT_SUPPORT_TYPE_SCOPE, chooseEndpoint, defaultBudget, endpointSpec, isResource, RESOURCES, type Paging, type RateBudget, type Resource, type SupportTypeScope } from '../zendesk/endpoints';
import type { Position } from '../zendesk/page';
import { UserError } from './errors';

export { UserError };

export interface ExportRequest {
  /** The account's subdomain (`acme` for acme.zendesk.com). */
  account: string;
  resource: Resource | string;
  /** Cursor or time-based paging. @default cursor where the resource has it, else time */
  mode?: Paging;
  /** Use the sample endpoint (up to 50 records a page, 10 requests per 20 minutes). */
  sample?: boolean;
  /** Unix seconds, an ISO date, or a Date. Required unless `cursor` is given. */
  startTime?: number | string | Date;
  /** A cursor saved from an earlier cursor-based export. */
  cursor?: string;
  perPage?: number;
  include?: readonly string[];
  excludeDeleted?: boolean;
  /** @default 'all' (Zendesk's own default, `agent`, leaves out tickets handled by AI agents) */
  supportTypeScope?: SupportTypeScope;
  /**
   * A folder for NDJSON (inside the worker's output root), `postgres` for the worker's Postgres target,
   * or `postgres:<name>` for another target it names.
   */
  destination: string | DestinationRef;
  /** The account's budget for the endpoint's bucket, e.g. `{requests: 30, seconds: 60}` with High Volume. */
  rateLimit?: RateBudget;
  /** Keep polling every this many seconds after catching up. */
  followIntervalSeconds?: number;
  /** Stop after this many pages. @default 1 with `sample`, else no limit */
  maxPages?: number;
  maxPagesPerRun?: number;
}

/** The account's name, lower case; throws a UserError for anything that is not a Zendesk subdomain. */
export function parseAccount(value: string | undefined): string {
  const account = value?.trim().toLowerCase() ?? '';
  if (checkAccount(account)) {
    throw new UserError(`Account "${printable(value ?? '')}" is not a Zendesk subdomain (acme for acme.zendesk.com); set ZENDESK_SUBDOMAIN or pass --account.`);
  }
  return account;
}

/** 9999-12-31T23:59:59Z: the last second an ISO date can name. */
const LAST_ISO_SECOND = 253_402_300_799;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Seconds of `2024-01-31`, `2024-01-31T12:00`, `2024-01-31T12:00:00Z`, `...+02:00`; undefined unless every part is a real date. */
function isoSeconds(text: string): number | undefined {
  const m = ISO_DATE.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour = 0, minute = 0, second = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((p) => (p === undefined ? undefined : Number(p))) as number[];
  const ms = Date.UTC(year!, month! - 1, day!, hour, minute, second);
  const back = new Date(ms);
  // Dates must round-trip: 2024-02-31 is not 2024-03-02.
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month! - 1 || back.getUTCDate() !== day || back.getUTCHours() !== hour || back.getUTCMinutes() !== minute || back.getUTCSeconds() !== second) {
    return undefined;
  }
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    if (Number(z[2]) > 14 || Number(z[3]) > 59) return undefined;
    offsetMinutes = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3]));
  }
  return Math.floor(ms / 1000) - offsetMinutes * 60;
}

/** Unix seconds from `1700000000`, `2024-01-31`, `2024-01-31T12:00:00Z` (times without a zone are UTC) or a Date. */
export function parseStartTime(value: number | string | Date, nowMs = Date.now()): number {
  let seconds: number | undefined;
  const text = typeof value === 'string' ? value.trim() : undefined;
  if (value instanceof Date) seconds = Number.isNaN(value.getTime()) ? undefined : Math.floor(value.getTime() / 1000);
  else if (typeof value === 'number') seconds = Number.isSafeInteger(value) ? value : undefined;
  else if (/^\d{1,16}$/.test(text!)) seconds = Number(text);
  else seconds = isoSeconds(text!);
  if (seconds === undefined || seconds < 0) {
    throw new UserError(`Start time "${printable(String(value))}" is neither Unix seconds nor a real ISO date such as 2024-01-31 or 2024-01-31T00:00:00Z.`);
  }
  const now = Math.floor(nowMs / 1000);
  if (seconds > now) {
    // Milliseconds are a common slip; any other number this large is no time Zendesk has records for.
    const asMilliseconds = Math.floor(seconds / 1000);
    if (Number.isSafeInteger(seconds) && asMilliseconds <= now && seconds > 1e11) {
      throw new UserError(`Start time ${text ?? seconds} looks like milliseconds; give Unix seconds (${asMilliseconds}).`);
    }
    const when = seconds <= LAST_ISO_SECOND ? new Date(seconds * 1000).toISOString() : printable(text ?? String(seconds));
    throw new UserError(`Start time ${when} is in the future: it must be at least one minute in the past.`);
  }
  // Zendesk rejects start times within the last minute with a 422.
  if (seconds > now - 60) {
    throw new UserError(`Start time ${new Date(seconds * 1000).toISOString()} must be at least one minute in the past.`);
  }
  return seconds;
}

/** `10/60` → 10 requests per 60 seconds. */
export function parseRateLimit(text: string): RateBudget {
  const match = /^\s*(\d{1,7})\s*\/\s*(\d{1,7})\s*$/.exec(text);
  const requests = Number(match?.[1]);
  const seconds = Number(match?.[2]);
  if (!match || requests < 1 || seconds < 1) {
    throw new UserError(`Rate limit "${printable(text)}" must look like N/SECONDS, for example 10/60 (or 30/60 with High Volume).`);
  }
  const budget = { requests, seconds };
  refuse(checkBudget(budget));
  return budget;
}

/**
 * A destination as a user names it: a folder (resolved here, then checked by the worker against its
 * output root), `postgres`, `postgres:<target>`, `s3` or `s3:<target>`. Database URLs and buckets belong
 * to the worker's configuration.
 */
export function parseDestination(value: string | DestinationRef): DestinationRef {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (!text) throw new UserError('The output folder is empty; give one with --out <dir>.');
  const target = /^(postgres|s3)(?::([a-z][a-z0-9_-]{0,62}))?$/.exec(text);
  if (target) return { kind: target[1] as 'postgres' | 's3', target: target[2] ?? 'default' };
  if (/^postgres(ql)?:/i.test(text)) {
    throw new UserError(
      'Name a Postgres target the worker knows: --dest postgres (its ZENDESK_EXPORT_POSTGRES) or --dest postgres:<name> (its ZENDESK_EXPORT_POSTGRES_<NAME>); database URLs stay in the worker.',
    );
  }
  if (/^s3:/i.test(text)) {
    throw new UserError(
      'Name an S3 target the worker knows: --dest s3 (its ZENDESK_EXPORT_S3) or --dest s3:<name> (its ZENDESK_EXPORT_S3_<NAME>, lower-case letters, digits, "_" and "-"); buckets stay in the worker.',
    );
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw new UserError(`"${printable(text)}" is not a destination: give a folder, postgres, postgres:<name>, s3 or s3:<name>.`);
  const ref: DestinationRef = { kind: 'ndjson', dir: path.resolve(text) };
  refuse(checkDestination(ref));
  return ref;
}

/** The flag (or argument) a user gives each field of an export's input with, for the client's sentences. */
const FLAGS: readonly [field: string, flag: string][] = [
  ['account', '--account'],
  ['resource', 'The resource'],
  ['endpoint', '--mode'],
  ['start.next.cursor', '--cursor'],
  ['start.next.startTime', '--start-time'],
  ['start.next', '--cursor'],
  ['options.perPage', '--per-page'],
  ['options.include', '--include'],
  ['options.excludeDeleted', '--exclude-deleted'],
  ['options.supportTypeScope', '--support-type-scope'],
  ['destination.target', '--dest'],
  ['destination', '--out'],
  ['budget', '--rate-limit'],
  ['bucket', 'The rate bucket'],
  ['followIntervalSeconds', '--follow'],
  ['maxPages', '--max-pages'],
];

/** The contract's problem as the client says it: the flag the user gave, what is wrong, one sentence. */
export function flagSentence(p: Problem): string {
  const flag = FLAGS.find(([field]) => p.field === field || p.field.startsWith(`${field}.`))?.[1] ?? p.field;
  return flag ? `${flag} ${p.problem}.` : `${p.problem[0]!.toUpperCase()}${p.problem.slice(1)}.`;
}

/** Throws the problem, if any, as a UserError naming the flag. */
function refuse(p: Problem | undefined): void {
  if (p) throw new UserError(flagSentence(p));
}

/** Checks a complete export input as the coordinator will. Throws UserError. */
export function checkExportRequest(input: ExportInput): void {
  refuse(checkExportInput(input));
}

/** Checks a budget change as the coordinator will (`zendesk-export budget`). Throws UserError. */
export function checkBudgetRequest(bucket: string, budget: RateBudget): void {
  refuse(checkBudgetChange(bucket, budget));
}

/**
 * Checks a request and builds the workflow input. The user's words (dates, names, modes) are read
 * here; the input they make is checked by the contract's validator, the one the worker checks with.
 * Throws UserError.
 */
export function toExportInput(request: ExportRequest, nowMs = Date.now()): ExportInput {
  const account = parseAccount(request.account);
  if (!isResource(request.resource)) {
    throw new UserError(`Unknown resource "${printable(request.resource)}". Choose one of: ${RESOURCES.join(', ')}.`);
  }
  if (request.mode !== undefined && request.mode !== 'cursor' && request.mode !== 'time') {
    throw new UserError(`Unknown mode "${printable(String(request.mode))}". Choose cursor or time.`);
  }
  const chosen = chooseEndpoint(request.resource, { mode: request.mode, sample: request.sample });
  if ('error' in chosen) throw new UserError(chosen.error);
  const endpoint = chosen.endpoint;
  if (request.cursor === undefined && request.startTime === undefined) {
    throw new UserError('Give a start time: --start-time <unix seconds or ISO date> (0 exports everything).');
  }
  const startTime = request.startTime === undefined ? 0 : parseStartTime(request.startTime, nowMs);
  const start: Position =
    request.cursor !== undefined
      ? { kind: 'cursor', startTime, cursor: request.cursor }
      : endpoint.paging === 'cursor'
        ? { kind: 'cursor', startTime, cursor: null }
        : { kind: 'time', startTime };
  const destination = parseDestination(request.destination);
  // Postgres derives its comments table from comment events: asked for unless the user chose sideloads.
  const include = request.include?.length
    ? [...new Set(request.include)]
    : destination.kind === 'postgres' && Object.hasOwn(endpoint.sideloads, 'comment_events')
      ? ['comment_events']
      : undefined;
  const options = {
    supportTypeScope: request.supportTypeScope ?? DEFAULT_SUPPORT_TYPE_SCOPE,
    ...(request.perPage !== undefined && { perPage: request.perPage }),
    ...(include && { include }),
    ...(request.excludeDeleted && { excludeDeleted: true }),
  };
  const input: ExportInput = {
    account,
    resource: request.resource,
    endpoint: endpoint.id,
    start,
    options,
    destination,
    budget: request.rateLimit ?? defaultBudget(endpointSpec(endpoint.id).bucket),
    followIntervalSeconds: request.followIntervalSeconds,
    maxPages: request.maxPages ?? (request.sample ? 1 : undefined),
    maxPagesPerRun: request.maxPagesPerRun,
  };
  checkExportRequest(input);
  return input;
}
