/**
 * A Zendesk-compatible HTTP server for the seven Incremental Export endpoints, served from the
 * endpoint table (zendesk/endpoints.ts): paging as Zendesk pages (inclusive start_time with boundary
 * repeats, pages grown to the end of their last second, opaque (second, id) cursors, 50-record
 * samples, the one-minute rule), account-wide rolling-window rate limits with Zendesk's headers and
 * text/plain 429s, API tokens and expiring OAuth tokens with rotating refresh tokens, injectable
 * faults, counters, and a control surface under /__sim/. The default account is served at the root;
 * other accounts under /accounts/<name>.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ENDPOINTS,
  RATE_BUCKETS,
  defaultBudget,
  RESOURCE_SPECS,
  endpointPath,
  isResource,
  type EndpointId,
  type EndpointSpec,
  type QueryParam,
  type RateBucket,
  type RateBudget,
  type Resource,
} from '../zendesk/endpoints';
import { AccountData, MAX_SPAN_SECONDS, type Entry } from './data';
import { Limiter, RollingWindow } from './limits';

export type { SupportTypeScope } from '../zendesk/endpoints';
import type { SupportTypeScope } from '../zendesk/endpoints';

/** Injected failures. `xxxNext` counts are exact; `xxxRate` shares are drawn from the seed. */
export interface Faults {
  /** Statuses the failing requests answer with, in turn. @default [500, 503] */
  failStatus: number[];
  failNext: number;
  failRate: number;
  /** Destroy the socket without an answer. */
  dropNext: number;
  dropRate: number;
  /** Added to every export request. */
  latencyMs: number;
  /** Answer only after `stallMs` (past a client's timeout). */
  stallNext: number;
  stallRate: number;
  stallMs: number;
  /** A 200 whose JSON body is cut in half. */
  malformedNext: number;
  malformedRate: number;
  /** Answer 429 with `Retry-After: retryAfterSeconds`, as when another app spent the budget. */
  rateLimitNext: number;
  retryAfterSeconds: number;
}

export interface SimulatorOptions {
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
  /** start_time must be older, and newer versions are not served yet. @default 60 */
  recentWindowSeconds?: number;
  /** Budgets per bucket, or 'off'. Unlisted buckets keep the table's RATE_BUCKETS. */
  rateLimits?: 'off' | Partial<Record<RateBucket, RateBudget>>;
  /** @default [DEFAULT_API_TOKEN] */
  apiTokens?: { email: string; token: string }[];
  /** @default DEFAULT_OAUTH's client */
  oauthClients?: { clientId: string; clientSecret: string } | { clientId: string; clientSecret: string }[];
  /** The refresh token that works at start. @default DEFAULT_OAUTH.refreshToken */
  refreshToken?: string;
  /** @default 1800 */
  accessTokenTtlSeconds?: number;
  faults?: Partial<Faults>;
  /** The clock, epoch ms (tests). @default Date.now */
  now?: () => number;
}

export interface SimulatorStats {
  /** Requests to the export endpoints (and unknown API paths), whatever their answer. */
  requests: number;
  requestsByEndpoint: Partial<Record<EndpointId, number>>;
  requestsByAccount: Record<string, number>;
  statuses: Record<number, number>;
  /** Per bucket, the most accepted requests of one account inside any window of the bucket's length. */
  peakInWindow: Partial<Record<RateBucket, number>>;
  /** The same per `account:bucket`. */
  peakInWindowByAccount: Record<string, number>;
  /** Accepted request times (epoch ms) per `account:bucket`, the last 10,000. */
  acceptedAt: Record<string, number[]>;
  /** Access tokens issued (any grant), and refresh grants among them. */
  tokensIssued: number;
  tokensRefreshed: number;
  faults: { failed: number; dropped: number; stalled: number; malformed: number; rateLimited: number };
}

export interface ExpectedOptions {
  /** @default 'agent', as the API */
  supportTypeScope?: SupportTypeScope;
  excludeDeleted?: boolean;
  /** Only versions at or after this second. @default 0 */
  startTime?: number;
}

export interface Simulator {
  /** Base URL of the default account. */
  url: string;
  port: number;
  accountUrl(name: string): string;
  stats(): SimulatorStats;
  resetStats(): void;
  /** The oracle: the newest version of every record a full export delivers, in (version, id) order, as the API serves it. */
  expected(account: string | undefined, resource: Resource, opts?: ExpectedOptions): Record<string, unknown>[];
  /** The same, one record at a time (for big accounts). */
  iterateExpected(account: string | undefined, resource: Resource, opts?: ExpectedOptions): Generator<Record<string, unknown>>;
  /** A new version of the record stamped now; returns it. */
  updateRecord(account: string | undefined, resource: Resource, id: number): Record<string, unknown>;
  /** New records stamped now; returns their ids. */
  addRecords(account: string | undefined, resource: Resource, n: number): number[];
  setFaults(faults: Partial<Faults>): void;
  faults(): Faults;
  close(): Promise<void>;
}

export const DEFAULT_API_TOKEN = { email: 'admin@example.com', token: 'sim-token' } as const;
export const DEFAULT_OAUTH = { clientId: 'sim-client', clientSecret: 'sim-secret', refreshToken: 'sim-refresh-token', accessTokenTtlSeconds: 1800 } as const;
export const DEFAULT_SIZES: Readonly<Record<Resource, number>> = { tickets: 1000, users: 500, organizations: 100, ticket_events: 2000 };
export const DEFAULT_FAULTS: Readonly<Faults> = {
  failStatus: [500, 503], failNext: 0, failRate: 0, dropNext: 0, dropRate: 0, latencyMs: 0,
  stallNext: 0, stallRate: 0, stallMs: 0, malformedNext: 0, malformedRate: 0, rateLimitNext: 0, retryAfterSeconds: 30,
};
const ACCOUNT_LIMIT = 700; // The plan limit Zendesk reports in X-Rate-Limit; reported, not enforced.
const ACCEPTED_KEPT = 10_000;
const TOO_MANY = 'Number of allowed API requests per minute exceeded';

class HttpError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(String(status));
  }
}
const invalid = (description: string) => new HttpError(400, { error: 'InvalidValue', description });

export const encodeCursor = (e: Entry): string => Buffer.from(`${e.second}.0||${e.id}|`).toString('base64');
export function decodeCursor(cursor: string): Entry | undefined {
  // A '+' in an unencoded query string arrives as a space.
  const m = /^(\d+)\.0\|\|(\d+)\|$/.exec(Buffer.from(cursor.replace(/ /g, '+'), 'base64').toString('utf8'));
  return m ? { second: Number(m[1]), id: Number(m[2]) } : undefined;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same data and the same faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function emptyStats(): SimulatorStats {
  return {
    requests: 0, requestsByEndpoint: {}, requestsByAccount: {}, statuses: {}, peakInWindow: {}, peakInWindowByAccount: {},
    acceptedAt: {}, tokensIssued: 0, tokensRefreshed: 0, faults: { failed: 0, dropped: 0, stalled: 0, malformed: 0, rateLimited: 0 },
  };
}

/** The account names of the `accounts` option; the first is the default. */
export function accountNames(accounts: SimulatorOptions['accounts']): string[] {
  if (accounts === undefined) return ['default'];
  if (typeof accounts === 'number') {
    if (!Number.isInteger(accounts) || accounts < 1) throw new RangeError('accounts: at least 1');
    return ['default', ...Array.from({ length: accounts - 1 }, (_, i) => `account${i + 2}`)];
  }
  if (!accounts.length || accounts.some((n) => !/^[\w.-]+$/.test(n))) throw new RangeError('accounts: names of letters, digits, "_", "." and "-"');
  return [...new Set(accounts)];
}

async function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += chunk;
  if (!text.trim()) return {};
  if (text.trim().startsWith('{')) {
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new HttpError(400, { error: 'invalid_request', error_description: 'The body is not valid JSON' });
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
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
  };
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const clock = options.now ?? Date.now;
  const nowSecond = () => Math.floor(clock() / 1000);
  const seed = (options.seed ?? 42) >>> 0;
  const sizes = { ...DEFAULT_SIZES, ...options.sizes };
  const recentWindow = Math.max(0, options.recentWindowSeconds ?? 60);
  const growPages = options.growPages ?? true;
  const spanSeconds = Math.min(options.spanSeconds ?? 30 * 86_400, MAX_SPAN_SECONDS);
  const endTime = options.endTime ?? nowSecond() - recentWindow - 1;
  const names = accountNames(options.accounts);
  const defaultAccount = names[0]!;

  // Accounts: listed ones are built at start; any other name under /accounts/ is built on first use.
  const accounts = new Map<string, AccountData>();
  const account = (name: string | undefined = defaultAccount): AccountData => {
    let data = accounts.get(name);
    if (!data) {
      let accountSeed = seed;
      if (name !== defaultAccount) for (const c of name) accountSeed = (Math.imul(accountSeed, 31) + c.charCodeAt(0)) >>> 0;
      data = new AccountData(name, {
        seed: accountSeed, sizes, eventsPerTicket: options.eventsPerTicket, sameSecond: options.sameSecond ?? 0, spanSeconds, endSecond: endTime,
      });
      accounts.set(name, data);
    }
    return data;
  };
  for (const name of names) account(name);

  // Rate limits: a limiter per account and bucket; the peak tracker runs even with limits off.
  const budget = (bucket: RateBucket): RateBudget | undefined =>
    options.rateLimits === 'off' ? undefined : (options.rateLimits?.[bucket] ?? defaultBudget(bucket));
  const limiters = new Map<string, Limiter>();
  const limiter = (key: string, bucket: RateBucket): Limiter | undefined => {
    const b = budget(bucket);
    if (!b) return undefined;
    let l = limiters.get(key);
    if (!l) limiters.set(key, (l = new Limiter(b.requests, b.seconds)));
    return l;
  };
  let peaks = new Map<string, RollingWindow>();
  const accountWindows = new Map<string, RollingWindow>();

  // Credentials.
  const apiTokens = options.apiTokens ?? [DEFAULT_API_TOKEN];
  const clients = options.oauthClients === undefined ? [DEFAULT_OAUTH] : [options.oauthClients].flat();
  const ttlSeconds = options.accessTokenTtlSeconds ?? DEFAULT_OAUTH.accessTokenTtlSeconds;
  const accessTokens = new Map<string, number>(); // token → expiry (epoch ms)
  const refreshTokens = new Set([options.refreshToken ?? DEFAULT_OAUTH.refreshToken]);
  let tokenCounter = 0;

  let faults: Faults = { ...DEFAULT_FAULTS, ...options.faults };
  const random = seededRandom(seed ^ 0x5eed5eed);
  let failTurn = 0;
  let stats = emptyStats();
  const sleepers = new Set<() => void>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleepers.add(done);
    });

  /** Whether a fault of this kind hits now: a pending count first, then the seeded rate. */
  function hit(next: 'failNext' | 'dropNext' | 'stallNext' | 'malformedNext' | 'rateLimitNext', rate: number): boolean {
    if (faults[next] > 0) {
      faults[next]--;
      return true;
    }
    return rate > 0 && random() < rate;
  }

  function send(res: http.ServerResponse, status: number, body: unknown, contentType?: string, counted = true): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    if (counted) stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
    res.writeHead(status, { 'Content-Type': contentType ?? (typeof body === 'string' ? 'text/plain' : 'application/json; charset=utf-8') });
    res.end(text);
  }

  function authenticate(header: string | undefined): void {
    const fail = new HttpError(401, { error: "Couldn't authenticate you" });
    if (!header) throw fail;
    const [scheme = '', value = ''] = header.split(/\s+/, 2);
    if (scheme.toLowerCase() === 'bearer') {
      const expires = accessTokens.get(value);
      if (expires === undefined) throw fail;
      if (expires <= clock()) {
        throw new HttpError(401, { error: 'invalid_token', error_description: 'The access token provided is expired, revoked, malformed or invalid for other reasons.' });
      }
      return;
    }
    if (scheme.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = decoded.slice(0, colon);
      const secret = decoded.slice(colon + 1);
      // Only `email/token:TOKEN`: email and password was removed from the API (2025-12-31).
      if (colon > 0 && user.endsWith('/token') && apiTokens.some((t) => t.email === user.slice(0, -6) && t.token === secret)) return;
    }
    throw fail;
  }

  async function tokenEndpoint(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const client = clients.find((c) => c.clientId === body.client_id);
    if (!client || (body.client_secret !== undefined && body.client_secret !== client.clientSecret)) {
      throw new HttpError(401, { error: 'invalid_client', error_description: 'Client authentication failed.' });
    }
    const issue = (withRefresh: boolean) => {
      const access = `sim-access-${++tokenCounter}-${Math.floor(random() * 1e9).toString(36)}`;
      accessTokens.set(access, clock() + ttlSeconds * 1000);
      stats.tokensIssued++;
      const out: Record<string, unknown> = { access_token: access, token_type: 'bearer', scope: 'read', expires_in: ttlSeconds };
      if (withRefresh) {
        const refresh = `sim-refresh-${tokenCounter}-${Math.floor(random() * 1e9).toString(36)}`;
        refreshTokens.add(refresh);
        Object.assign(out, { refresh_token: refresh, refresh_token_expires_in: 30 * 86_400 });
      }
      send(res, 200, out, undefined, false);
    };
    if (body.grant_type === 'refresh_token') {
      // Each refresh token works once: Zendesk rotates them.
      if (typeof body.refresh_token !== 'string' || !refreshTokens.delete(body.refresh_token)) {
        throw new HttpError(400, { error: 'invalid_grant', error_description: 'The provided authorization grant is invalid, expired, or revoked.' });
      }
      stats.tokensRefreshed++;
      return issue(true);
    }
    if (body.grant_type === 'client_credentials') {
      if (body.client_secret !== client.clientSecret) throw new HttpError(401, { error: 'invalid_client', error_description: 'Client authentication failed.' });
      return issue(false);
    }
    throw new HttpError(400, { error: 'unsupported_grant_type', error_description: 'The authorization grant type is not supported.' });
  }

  /** Spends a slot of the bucket or throws the 429; sets the bucket header either way. */
  function spend(accountName: string, endpoint: EndpointSpec, res: http.ServerResponse): void {
    const key = `${accountName}:${endpoint.bucket}`;
    const now = clock();
    const l = limiter(key, endpoint.bucket);
    if (l) {
      const taken = l.take(now);
      res.setHeader(RATE_BUCKETS[endpoint.bucket].header, l.header(now));
      if (!taken.ok) {
        res.setHeader('Retry-After', String(taken.retryAfter));
        throw new HttpError(429, TOO_MANY);
      }
    }
    let window = peaks.get(key);
    if (!window) peaks.set(key, (window = new RollingWindow(budget(endpoint.bucket)?.seconds ?? defaultBudget(endpoint.bucket).seconds)));
    const inWindow = window.add(now);
    stats.peakInWindowByAccount[key] = Math.max(stats.peakInWindowByAccount[key] ?? 0, inWindow);
    stats.peakInWindow[endpoint.bucket] = Math.max(stats.peakInWindow[endpoint.bucket] ?? 0, inWindow);
    const times = (stats.acceptedAt[key] ??= []);
    times.push(now);
    if (times.length > ACCEPTED_KEPT * 1.2) times.splice(0, times.length - ACCEPTED_KEPT);
  }

  /** The account-wide headers every response carries: the plan limit, reported but not enforced. */
  function accountHeaders(accountName: string, res: http.ServerResponse): void {
    let window = accountWindows.get(accountName);
    if (!window) accountWindows.set(accountName, (window = new RollingWindow(60)));
    const now = clock();
    const remaining = String(Math.max(0, ACCOUNT_LIMIT - window.add(now)));
    res.setHeader('X-Rate-Limit', String(ACCOUNT_LIMIT));
    res.setHeader('X-Rate-Limit-Remaining', remaining);
    res.setHeader('ratelimit-limit', String(ACCOUNT_LIMIT));
    res.setHeader('ratelimit-remaining', remaining);
    res.setHeader('ratelimit-reset', String(window.resetsIn(now)));
    res.setHeader('Zendesk-Api-Version', '2022-01-01');
  }

  function* pageEntries(data: AccountData, resource: Resource, start: Entry & { inclusive: boolean }, filter: Filter, horizon: number): Generator<Entry> {
    for (const entry of data.entries(resource, start.second, start.inclusive ? undefined : start.id)) {
      if (entry.second >= horizon) return; // Not served until older than the recent window.
      if (data.visible(resource, entry.id, filter.scope, filter.excludeDeleted)) yield entry;
    }
  }

  interface Filter {
    scope: SupportTypeScope;
    excludeDeleted: boolean;
  }

  function servePage(data: AccountData, endpoint: EndpointSpec, resource: Resource, url: URL): Record<string, unknown> {
    const params = url.searchParams;
    const accepts = (p: QueryParam) => (endpoint.params as readonly QueryParam[]).includes(p);
    let perPage = endpoint.maxPerPage;
    const perPageText = params.get('per_page');
    if (perPageText !== null && accepts('per_page')) {
      perPage = /^\d+$/.test(perPageText) ? Number(perPageText) : NaN;
      if (!(perPage >= 1 && perPage <= endpoint.maxPerPage)) throw invalid(`per_page must be an integer from 1 to ${endpoint.maxPerPage}`);
    }
    const include = accepts('include') ? (params.get('include') ?? '').split(',').map((s) => s.trim()).filter(Boolean) : [];
    for (const name of include) if (!(name in endpoint.sideloads)) throw invalid(`Unsupported include: ${name}`);
    let scope: SupportTypeScope = 'all';
    if (accepts('support_type_scope')) {
      const value = params.get('support_type_scope') ?? 'agent'; // Zendesk's default leaves AI-agent tickets out.
      if (value !== 'all' && value !== 'agent' && value !== 'ai_agent') throw invalid('support_type_scope must be all, agent or ai_agent');
      scope = value;
    }
    const filter: Filter = { scope, excludeDeleted: accepts('exclude_deleted') && params.get('exclude_deleted') === 'true' };

    const now = nowSecond();
    const cursorText = endpoint.paging === 'cursor' ? params.get('cursor') : null;
    let start: Entry & { inclusive: boolean };
    if (cursorText) {
      const at = decodeCursor(cursorText);
      if (!at) throw invalid('The cursor is not valid');
      start = { ...at, inclusive: false };
    } else {
      const text = params.get('start_time');
      if (text === null || !/^\d+$/.test(text)) throw invalid('start_time is required and must be a Unix time in seconds');
      const startTime = Number(text);
      if (startTime > now - recentWindow) {
        throw new HttpError(422, { error: 'InvalidValue', description: 'Too recent start_time. Use a start_time older than 1 minute' });
      }
      start = { second: startTime, id: 0, inclusive: true };
    }

    const page: Entry[] = [];
    let endOfStream = true;
    for (const entry of pageEntries(data, resource, start, filter, now - recentWindow)) {
      const last = page[page.length - 1];
      if (last && page.length >= perPage) {
        // Zendesk grows a time-based page to the end of its last second. A page that is all
        // start_time's second also takes the next second, so end_time always moves on.
        const grow = endpoint.paging === 'time' && growPages && (entry.second === last.second || last.second === start.second);
        if (!grow) {
          endOfStream = false;
          break;
        }
      }
      page.push(entry);
    }

    const records = page.map((e) => data.record(resource, e.id, { commentEvents: include.includes('comment_events') })!);
    const body: Record<string, unknown> = { [resource]: records };
    const base = `${url.origin}${url.pathname}`;
    if (endpoint.paging === 'cursor') {
      const last = page[page.length - 1];
      // An empty page keeps the cursor it was given; an empty first page has none to give.
      const after = last ? encodeCursor(last) : cursorText;
      const before = cursorText && page[0] ? encodeCursor(page[0]) : null;
      const link = (cursor: string | null) => {
        if (!cursor) return null;
        const q = new URLSearchParams(params);
        q.delete('start_time');
        q.set('cursor', cursor);
        return `${base}?${q}`;
      };
      Object.assign(body, { after_cursor: after, after_url: link(after), before_cursor: before, before_url: link(before), end_of_stream: endOfStream });
    } else {
      const endTime = page.length ? page[page.length - 1]!.second : start.second;
      const q = new URLSearchParams(params);
      q.set('start_time', String(endTime));
      Object.assign(body, { count: records.length, end_time: endTime, next_page: `${base}?${q}`, end_of_stream: endOfStream });
    }
    for (const name of include) {
      if (endpoint.sideloads[name as keyof typeof endpoint.sideloads] !== 'array') continue;
      body[name] = data.relatedIds(name, records).flatMap((id) => data.sideload(name, id) ?? []);
    }
    return body;
  }

  /** Faults come first, as from a flaky network or load balancer. Returns true when it answered. */
  async function injectFault(res: http.ServerResponse): Promise<boolean> {
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    if (hit('dropNext', faults.dropRate)) {
      stats.faults.dropped++;
      res.socket?.destroy();
      return true;
    }
    if (hit('stallNext', faults.stallRate)) {
      stats.faults.stalled++;
      await sleep(faults.stallMs);
      if (res.socket?.destroyed) return true;
    }
    if (hit('failNext', faults.failRate)) {
      stats.faults.failed++;
      const turn = failTurn++;
      const status = faults.failStatus[turn % Math.max(1, faults.failStatus.length)] ?? 500;
      // The body varies as behind real proxies: JSON, plain text, an HTML error page.
      if (turn % 3 === 0) send(res, status, { error: 'InternalServerError', description: 'Something went wrong, please try again' });
      else if (turn % 3 === 1) send(res, status, `${status} ${http.STATUS_CODES[status] ?? 'Error'}`);
      else send(res, status, `<html><body><h1>${status} ${http.STATUS_CODES[status] ?? 'Error'}</h1></body></html>`, 'text/html');
      return true;
    }
    return false;
  }

  const routes = new Map(
    ENDPOINTS.flatMap((endpoint) => endpoint.resources.map((resource) => [endpointPath(endpoint, resource), { endpoint: endpoint as EndpointSpec, resource }] as const)),
  );

  async function serveApi(req: http.IncomingMessage, res: http.ServerResponse, url: URL, accountName: string, path: string): Promise<void> {
    const route = routes.get(path.replace(/\.json$/, ''));
    stats.requests++;
    stats.requestsByAccount[accountName] = (stats.requestsByAccount[accountName] ?? 0) + 1;
    accountHeaders(accountName, res);
    if (!route || req.method !== 'GET') throw new HttpError(404, { error: 'InvalidEndpoint', description: 'Not found' });
    const { endpoint, resource } = route;
    stats.requestsByEndpoint[endpoint.id] = (stats.requestsByEndpoint[endpoint.id] ?? 0) + 1;
    const l = limiter(`${accountName}:${endpoint.bucket}`, endpoint.bucket);
    if (l) res.setHeader(RATE_BUCKETS[endpoint.bucket].header, l.header(clock()));
    if (await injectFault(res)) return;
    authenticate(req.headers.authorization);
    if (hit('rateLimitNext', 0)) {
      stats.faults.rateLimited++;
      const wait = Math.max(0, Math.ceil(faults.retryAfterSeconds));
      res.setHeader('Retry-After', String(wait));
      if (l) res.setHeader(RATE_BUCKETS[endpoint.bucket].header, `total=${l.requests}; remaining=0; resets=${wait}`);
      throw new HttpError(429, TOO_MANY);
    }
    spend(accountName, endpoint, res);
    let text = JSON.stringify(servePage(account(accountName), endpoint, resource, url));
    if (hit('malformedNext', faults.malformedRate)) {
      stats.faults.malformed++;
      text = text.slice(0, Math.floor(text.length / 2));
    }
    send(res, 200, text, 'application/json; charset=utf-8');
  }

  /** The current user, as Zendesk answers it: anonymous without credentials, 401 with wrong ones. Not an export request. */
  function whoAmI(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.headers.authorization) authenticate(req.headers.authorization);
    send(res, 200, { user: req.headers.authorization ? { id: 1, name: 'Admin', role: 'admin' } : { id: null, name: 'Anonymous user', role: 'end-user' } }, undefined, false);
  }

  async function control(req: http.IncomingMessage, res: http.ServerResponse, url: URL, prefixAccount: string | undefined): Promise<void> {
    const body = req.method === 'POST' ? await readBody(req) : {};
    const accountName = (typeof body.account === 'string' ? body.account : undefined) ?? url.searchParams.get('account') ?? prefixAccount;
    const resourceOf = (value: unknown): Resource => {
      if (typeof value !== 'string' || !isResource(value)) throw invalid(`resource must be one of ${Object.keys(RESOURCE_SPECS).join(', ')}`);
      return value;
    };
    const route = `${req.method} ${url.pathname.replace(/^\/accounts\/[^/]+/, '')}`;
    switch (route) {
      case 'GET /__sim/stats':
        return send(res, 200, api.stats(), undefined, false);
      case 'POST /__sim/reset-stats':
        api.resetStats();
        return send(res, 200, { ok: true }, undefined, false);
      case 'GET /__sim/faults':
        return send(res, 200, faults, undefined, false);
      case 'POST /__sim/faults':
        api.setFaults(body as Partial<Faults>);
        return send(res, 200, faults, undefined, false);
      case 'POST /__sim/update':
        return send(res, 200, api.updateRecord(accountName, resourceOf(body.resource), Number(body.id)), undefined, false);
      case 'POST /__sim/add':
        return send(res, 200, { ids: api.addRecords(accountName, resourceOf(body.resource), Number(body.n ?? 1)) }, undefined, false);
      case 'GET /__sim/expected': {
        const q = url.searchParams;
        const scope = q.get('support_type_scope') ?? undefined;
        if (scope !== undefined && scope !== 'all' && scope !== 'agent' && scope !== 'ai_agent') throw invalid('support_type_scope must be all, agent or ai_agent');
        const records = api.iterateExpected(accountName, resourceOf(q.get('resource')), {
          supportTypeScope: scope,
          excludeDeleted: q.get('exclude_deleted') === 'true',
          startTime: q.has('start_time') ? Number(q.get('start_time')) : undefined,
        });
        res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
        // Streamed with backpressure: a million records never sit in memory at once.
        let chunk = '';
        for (const r of records) {
          chunk += `${JSON.stringify(r)}\n`;
          if (chunk.length > 64 * 1024) {
            if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
            chunk = '';
            if (res.destroyed) return;
          }
        }
        res.end(chunk);
        return;
      }
    }
    throw new HttpError(404, { error: 'InvalidEndpoint', description: 'Not found' });
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    const prefixed = /^\/accounts\/([^/]+)(\/.*)?$/.exec(url.pathname);
    const prefixAccount = prefixed ? decodeURIComponent(prefixed[1]!) : undefined;
    const path = prefixed ? (prefixed[2] ?? '/') : url.pathname;
    const whoAmIPath = /^\/api\/v2\/users\/me(\.json)?$/.test(path);
    // Not export requests: left out of the statuses.
    const internal = path.startsWith('/__sim/') || path === '/oauth/tokens' || whoAmIPath;
    try {
      if (path.startsWith('/__sim/')) return await control(req, res, url, prefixAccount);
      if (path === '/oauth/tokens' && req.method === 'POST') return await tokenEndpoint(req, res);
      if (prefixAccount !== undefined && !/^[\w.-]+$/.test(prefixAccount)) throw new HttpError(404, { error: 'InvalidEndpoint', description: 'Not found' });
      if (whoAmIPath && req.method === 'GET') return whoAmI(req, res);
      await serveApi(req, res, url, prefixAccount ?? defaultAccount, path);
    } catch (err) {
      if (res.headersSent || res.destroyed) return;
      if (err instanceof HttpError) send(res, err.status, err.body, undefined, !internal);
      else send(res, err instanceof RangeError ? 400 : 500, { error: err instanceof RangeError ? 'InvalidValue' : 'InternalServerError', description: (err as Error).message }, undefined, !internal);
    }
  }

  const server = http.createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  function* iterateExpected(accountName: string | undefined, resource: Resource, opts: ExpectedOptions = {}): Generator<Record<string, unknown>> {
    const data = account(accountName);
    const scope = opts.supportTypeScope ?? 'agent';
    for (const entry of data.entries(resource, opts.startTime ?? 0)) {
      if (data.visible(resource, entry.id, scope, opts.excludeDeleted === true)) yield data.record(resource, entry.id)!;
    }
  }

  const api: Simulator = {
    url,
    port,
    accountUrl: (name) => `${url}/accounts/${encodeURIComponent(name)}`,
    stats: () => {
      const copy = structuredClone(stats);
      for (const [key, times] of Object.entries(copy.acceptedAt)) if (times.length > ACCEPTED_KEPT) copy.acceptedAt[key] = times.slice(-ACCEPTED_KEPT);
      return copy;
    },
    resetStats: () => {
      stats = emptyStats();
      peaks = new Map();
    },
    expected: (accountName, resource, opts) => [...iterateExpected(accountName, resource, opts)],
    iterateExpected,
    updateRecord(accountName, resource, id) {
      const data = account(accountName);
      data.update(resource, id, nowSecond());
      return data.record(resource, id)!;
    },
    addRecords(accountName, resource, n) {
      const data = account(accountName);
      if (!Number.isInteger(n) || n < 0) throw new RangeError('n must be a whole number');
      return Array.from({ length: n }, () => data.add(resource, nowSecond()));
    },
    setFaults(f) {
      faults = { ...faults, ...f };
    },
    faults: () => structuredClone(faults),
    close: () =>
      new Promise<void>((resolve) => {
        for (const wake of [...sleepers]) wake();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return api;
}
