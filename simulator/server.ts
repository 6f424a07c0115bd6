/**
 * A Zendesk-compatible HTTP server for the seven Incremental Export endpoints, served from the
 * endpoint table: paging as Zendesk pages (inclusive start_time with boundary repeats, pages grown
 * to the end of their last second, opaque (second, id) cursors, 50-record samples, the one-minute
 * rule), account-wide rolling-window rate limits with Zendesk's headers and text/plain 429s, API
 * tokens and expiring OAuth tokens with rotating refresh tokens, injectable faults, and counters.
 * Accounts other than the default live under `/accounts/<name>`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ENDPOINTS, RATE_BUCKETS, endpointPath, isResource, type EndpointSpec, type RateBucket, type RateBudget, type Resource } from '../zendesk/endpoints';
import { AccountData, type Entry } from './data';

export interface Faults {
  /** Statuses the failing requests answer with, in turn. @default [500, 503] */
  failStatus: number[];
  failNext: number;
  failRate: number;
  /** Close the connection without an answer. */
  dropNext: number;
  dropRate: number;
  latencyMs: number;
  /** Answer only after `stallMs` (past a client's timeout). */
  stallNext: number;
  stallMs: number;
  /** A 200 with a truncated JSON body. */
  malformedNext: number;
  malformedRate: number;
  /** Answer 429 as if another app had spent the budget. */
  rateLimitNext: number;
  retryAfterSeconds: number;
}

export interface SimulatorOptions {
  port?: number;
  host?: string;
  seed?: number;
  /** Records per resource. @default tickets 1000, users 500, organizations 100, ticket_events 2000 */
  sizes?: Partial<Record<Resource, number>>;
  /** This many records of each resource share one second (a bulk update). */
  sameSecond?: number;
  /** Grow a time-based page to the end of its last second, as Zendesk does. false: the stuck variant. @default true */
  growPages?: boolean;
  /** start_time must be older than this. @default 60 */
  recentWindowSeconds?: number;
  /** Budgets per bucket, or 'off'. @default the table's RATE_BUCKETS */
  rateLimits?: 'off' | Partial<Record<RateBucket, RateBudget>>;
  apiTokens?: { email: string; token: string }[];
  oauth?: { clientId?: string; clientSecret?: string; refreshToken?: string; accessTokenTtlSeconds?: number };
  faults?: Partial<Faults>;
}

export interface SimulatorStats {
  requests: number;
  requestsByEndpoint: Partial<Record<string, number>>;
  requestsByAccount: Record<string, number>;
  statuses: Record<number, number>;
  /** Per bucket, the most accepted requests of one account seen inside one window. */
  peakInWindow: Partial<Record<RateBucket, number>>;
  /** Accepted request times (epoch ms) per `account:bucket`, the last 10,000. */
  acceptedAt: Record<string, number[]>;
  tokensIssued: number;
}

export interface Simulator {
  url: string;
  port: number;
  accountUrl(name: string): string;
  stats(): SimulatorStats;
  resetStats(): void;
  expected(account: string | undefined, resource: Resource, opts?: ExpectedOptions): Record<string, unknown>[];
  updateRecord(account: string | undefined, resource: Resource, id: number): Record<string, unknown>;
  addRecords(account: string | undefined, resource: Resource, n: number): void;
  setFaults(faults: Partial<Faults>): void;
  close(): Promise<void>;
}

export interface ExpectedOptions {
  supportTypeScope?: 'all' | 'agent' | 'ai_agent';
  excludeDeleted?: boolean;
  startTime?: number;
}

export const DEFAULT_API_TOKEN = { email: 'admin@example.com', token: 'sim-token' };
export const DEFAULT_OAUTH = { clientId: 'sim-client', clientSecret: 'sim-secret', refreshToken: 'sim-refresh-token', accessTokenTtlSeconds: 1800 };
const DEFAULT_SIZES: Record<Resource, number> = { tickets: 1000, users: 500, organizations: 100, ticket_events: 2000 };
const DEFAULT_FAULTS: Faults = {
  failStatus: [500, 503], failNext: 0, failRate: 0, dropNext: 0, dropRate: 0, latencyMs: 0,
  stallNext: 0, stallMs: 0, malformedNext: 0, malformedRate: 0, rateLimitNext: 0, retryAfterSeconds: 30,
};

class HttpError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(String(status));
  }
}

const encodeCursor = (e: Entry) => Buffer.from(`${e.second}.0||${e.id}|`).toString('base64');
function decodeCursor(cursor: string): Entry {
  const m = /^(\d+)\.0\|\|(\d+)\|$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
  if (!m) throw new HttpError(400, { error: 'InvalidCursor', description: 'The cursor is not valid' });
  return { second: Number(m[1]), id: Number(m[2]) };
}

function emptyStats(): SimulatorStats {
  return { requests: 0, requestsByEndpoint: {}, requestsByAccount: {}, statuses: {}, peakInWindow: {}, acceptedAt: {}, tokensIssued: 0 };
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const seed = options.seed ?? 42;
  const sizes = { ...DEFAULT_SIZES, ...options.sizes };
  const accounts = new Map<string, AccountData>();
  const account = (name = 'default') => {
    let data = accounts.get(name);
    if (!data) {
      let hash = seed;
      for (const c of name) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
      data = new AccountData(name, { seed: hash, sizes, sameSecond: options.sameSecond ?? 0 });
      accounts.set(name, data);
    }
    return data;
  };
  account(); // The default account is ready before the first request.
  const recentWindow = options.recentWindowSeconds ?? 60;
  const growPages = options.growPages ?? true;
  const budgets = (bucket: RateBucket): RateBudget | undefined =>
    options.rateLimits === 'off' ? undefined : (options.rateLimits?.[bucket] ?? RATE_BUCKETS[bucket]);
  const apiTokens = options.apiTokens ?? [DEFAULT_API_TOKEN];
  const oauth = { ...DEFAULT_OAUTH };
  for (const [k, v] of Object.entries(options.oauth ?? {})) if (v !== undefined) Object.assign(oauth, { [k]: v });
  const accessTokens = new Map<string, number>();
  const refreshTokens = new Set([oauth.refreshToken]);
  let faults: Faults = { ...DEFAULT_FAULTS, ...options.faults };
  let stats = emptyStats();
  const windows = new Map<string, number[]>();
  let random = seed;
  const chance = (rate: number) => rate > 0 && ((random = (random * 1103515245 + 12345) >>> 0) % 10_000) / 10_000 < rate;
  let failTurn = 0;
  let tokenCounter = 0;

  function authenticate(header: string | undefined): void {
    const fail = () => new HttpError(401, { error: "Couldn't authenticate you" });
    if (!header) throw fail();
    if (header.startsWith('Bearer ')) {
      const expires = accessTokens.get(header.slice(7));
      if (expires === undefined || expires < Date.now()) throw fail();
      return;
    }
    if (header.startsWith('Basic ')) {
      const [user, token] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
      const email = user?.endsWith('/token') ? user.slice(0, -6) : undefined;
      // Email and password (no "/token") is refused: Zendesk removed it from the API.
      if (email && apiTokens.some((t) => t.email === email && t.token === token)) return;
    }
    throw fail();
  }

  /** Rolling window: at most N accepted in any S seconds; a rejected request spends nothing. */
  function spendBudget(accountName: string, bucket: RateBucket, res: http.ServerResponse, endpoint: EndpointSpec): void {
    const budget = budgets(bucket);
    const key = `${accountName}:${bucket}`;
    const now = Date.now();
    if (!budget) {
      record(key, now);
      return;
    }
    const times = (windows.get(key) ?? []).filter((t) => t > now - budget.seconds * 1000);
    windows.set(key, times);
    const header = (remaining: number, resets: number) =>
      res.setHeader(endpoint.bucketHeader, `total=${budget.requests}; remaining=${remaining}; resets=${resets}`);
    if (times.length >= budget.requests) {
      const retry = Math.max(1, Math.ceil((times[0]! + budget.seconds * 1000 - now) / 1000));
      header(0, retry);
      res.setHeader('Retry-After', String(retry));
      throw new HttpError(429, 'Number of allowed API requests per minute exceeded');
    }
    times.push(now);
    record(key, now);
    stats.peakInWindow[bucket] = Math.max(stats.peakInWindow[bucket] ?? 0, times.length);
    header(budget.requests - times.length, Math.max(1, Math.ceil((times[0]! + budget.seconds * 1000 - now) / 1000)));
  }

  function record(key: string, at: number): void {
    const list = (stats.acceptedAt[key] ??= []);
    list.push(at);
    if (list.length > 10_000) list.splice(0, list.length - 10_000);
  }

  function visible(data: AccountData, resource: Resource, entry: Entry, params: URLSearchParams, endpoint: EndpointSpec): boolean {
    const accepts = (p: string) => (endpoint.params as readonly string[]).includes(p);
    const scope = accepts('support_type_scope') ? (params.get('support_type_scope') ?? 'agent') : 'all';
    if (resource === 'tickets' || resource === 'ticket_events') {
      const ticketId = resource === 'tickets' ? entry.id : data.ticketOfEvent(entry.id);
      const ai = data.isAiTicket(ticketId);
      if ((scope === 'agent' && ai) || (scope === 'ai_agent' && !ai)) return false;
    }
    if (resource === 'tickets' && params.get('exclude_deleted') === 'true' && accepts('exclude_deleted') && entry.id % 11 === 5) return false;
    return true;
  }

  function servePage(data: AccountData, endpoint: EndpointSpec, resource: Resource, params: URLSearchParams, url: URL): unknown {
    const perPageText = params.get('per_page');
    const accepts = (p: string) => (endpoint.params as readonly string[]).includes(p);
    let perPage = endpoint.maxPerPage;
    if (perPageText !== null && accepts('per_page')) {
      perPage = Number(perPageText);
      if (!Number.isInteger(perPage) || perPage < 1 || perPage > endpoint.maxPerPage) {
        throw new HttpError(400, { error: 'InvalidValue', description: `per_page must be between 1 and ${endpoint.maxPerPage}` });
      }
    }
    const include = (params.get('include') ?? '').split(',').filter(Boolean);
    for (const name of include) {
      if (!(name in endpoint.sideloads)) throw new HttpError(400, { error: 'InvalidValue', description: `Unknown sideload: ${name}` });
    }
    const cursor = params.get('cursor');
    const now = Math.floor(Date.now() / 1000);
    let start: { second: number; afterId?: number };
    if (endpoint.paging === 'cursor' && cursor) {
      const at = decodeCursor(cursor);
      start = { second: at.second, afterId: at.id };
    } else {
      const text = params.get('start_time');
      if (text === null || !/^\d+$/.test(text)) throw new HttpError(400, { error: 'InvalidValue', description: 'start_time is required and must be a Unix time' });
      const startTime = Number(text);
      if (startTime > now - recentWindow) {
        throw new HttpError(422, { error: 'InvalidValue', description: 'Too recent start_time. Use a start_time older than 1 minute' });
      }
      start = { second: startTime };
    }
    // Data from the most recent window is not served yet.
    const horizon = now - recentWindow;
    const page: Entry[] = [];
    let endOfStream = true;
    for (const entry of data.entries(resource, start)) {
      if (entry.second > horizon) break;
      if (!visible(data, resource, entry, params, endpoint)) continue;
      if (page.length >= perPage) {
        const last = page[page.length - 1]!;
        const grow = endpoint.paging === 'time' && growPages && entry.second === last.second;
        if (!grow) {
          endOfStream = false;
          break;
        }
      }
      page.push(entry);
    }
    const records = page.map((e) => data.record(resource, e, include.includes('comment_events')));
    const body: Record<string, unknown> = { [resource]: records };
    for (const name of include) {
      if (endpoint.sideloads[name as keyof typeof endpoint.sideloads] !== 'array') continue;
      const field = name === 'users' ? 'requester_id' : name === 'groups' ? 'group_id' : name === 'organizations' ? 'organization_id' : 'id';
      const ids = [...new Set(records.map((r) => Number(r[field] ?? r.id)))];
      body[name] = ids.map((id) => data.sideload(name, id));
    }
    const base = `${url.origin}${url.pathname}`;
    if (endpoint.paging === 'cursor') {
      const last = page[page.length - 1];
      // An empty page keeps the cursor it was given; an empty first page has none to give.
      const after = last ? encodeCursor(last) : (cursor ?? null);
      Object.assign(body, {
        after_cursor: after,
        after_url: after ? `${base}?cursor=${encodeURIComponent(after)}` : null,
        before_cursor: page[0] ? encodeCursor(page[0]) : null,
        before_url: null,
        end_of_stream: endOfStream,
      });
    } else {
      const endTime = page.length ? page[page.length - 1]!.second : start.second;
      const next = new URLSearchParams(params);
      next.set('start_time', String(endTime));
      Object.assign(body, { count: records.length, end_time: endTime, next_page: `${base}?${next}`, end_of_stream: endOfStream });
    }
    return body;
  }

  async function tokenEndpoint(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += chunk;
    let body: Record<string, string>;
    try {
      body = text.trim().startsWith('{') ? (JSON.parse(text) as Record<string, string>) : Object.fromEntries(new URLSearchParams(text));
    } catch {
      throw new HttpError(400, { error: 'invalid_request' });
    }
    if (body.client_id !== oauth.clientId || (body.client_secret !== undefined && body.client_secret !== oauth.clientSecret)) {
      throw new HttpError(401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    }
    const issue = (refresh: boolean) => {
      const access = `sim-access-${++tokenCounter}`;
      accessTokens.set(access, Date.now() + oauth.accessTokenTtlSeconds * 1000);
      stats.tokensIssued++;
      const out: Record<string, unknown> = { access_token: access, token_type: 'bearer', expires_in: oauth.accessTokenTtlSeconds, scope: 'read' };
      if (refresh) {
        const next = `sim-refresh-${tokenCounter}`;
        refreshTokens.add(next);
        out.refresh_token = next;
      }
      json(res, 200, out);
    };
    if (body.grant_type === 'refresh_token') {
      // Each refresh token works once: the rotation Zendesk enforces.
      if (!body.refresh_token || !refreshTokens.delete(body.refresh_token)) throw new HttpError(400, { error: 'invalid_grant' });
      return issue(true);
    }
    if (body.grant_type === 'client_credentials') {
      if (body.client_secret !== oauth.clientSecret) throw new HttpError(401, { error: 'invalid_client' });
      return issue(false);
    }
    throw new HttpError(400, { error: 'unsupported_grant_type' });
  }

  async function control(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    let text = '';
    for await (const chunk of req) text += chunk;
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    const acct = (body.account as string | undefined) ?? url.searchParams.get('account') ?? undefined;
    switch (url.pathname) {
      case '/__sim/stats':
        return json(res, 200, stats);
      case '/__sim/faults':
        faults = { ...faults, ...(body as Partial<Faults>) };
        return json(res, 200, faults);
      case '/__sim/update':
        return json(res, 200, api.updateRecord(acct, body.resource as Resource, Number(body.id)));
      case '/__sim/add':
        api.addRecords(acct, body.resource as Resource, Number(body.n ?? 1));
        return json(res, 200, { ok: true });
      case '/__sim/expected': {
        const resource = url.searchParams.get('resource') ?? '';
        if (!isResource(resource)) throw new HttpError(400, { error: 'unknown resource' });
        res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
        const scope = (url.searchParams.get('support_type_scope') ?? 'all') as ExpectedOptions['supportTypeScope'];
        for (const r of api.expected(acct, resource, { supportTypeScope: scope, excludeDeleted: url.searchParams.get('exclude_deleted') === 'true' })) {
          res.write(`${JSON.stringify(r)}\n`);
        }
        res.end();
        return;
      }
    }
    throw new HttpError(404, { error: 'InvalidEndpoint', description: 'Not found' });
  }

  function json(res: http.ServerResponse, status: number, body: unknown): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8' });
    res.end(text);
  }

  /** Faults come before everything else, as a flaky network or load balancer would. Returns true when handled. */
  async function injectFault(res: http.ServerResponse): Promise<boolean> {
    if (faults.latencyMs) await new Promise((r) => setTimeout(r, faults.latencyMs));
    if (faults.dropNext > 0 || chance(faults.dropRate)) {
      if (faults.dropNext > 0) faults.dropNext--;
      res.socket?.destroy();
      return true;
    }
    if (faults.stallNext > 0) {
      faults.stallNext--;
      await new Promise((r) => setTimeout(r, faults.stallMs));
    }
    if (faults.failNext > 0 || chance(faults.failRate)) {
      if (faults.failNext > 0) faults.failNext--;
      const status = faults.failStatus[failTurn++ % faults.failStatus.length] ?? 500;
      json(res, status, failTurn % 2 ? { error: 'ServerError', description: 'Something went wrong' } : 'Service Unavailable');
      return true;
    }
    return false;
  }

  const routes = ENDPOINTS.flatMap((endpoint) => endpoint.resources.map((resource) => ({ path: endpointPath(endpoint, resource), endpoint, resource })));

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
      let accountName = 'default';
      let path = url.pathname.replace(/\.json$/, '');
      const prefixed = /^\/accounts\/([^/]+)(\/.*)$/.exec(path);
      if (prefixed) [, accountName, path] = prefixed as unknown as [string, string, string];
      try {
        if (path.startsWith('/__sim/')) return await control(req, res, url);
        res.setHeader('X-Rate-Limit', '700');
        res.setHeader('X-Rate-Limit-Remaining', '699');
        res.setHeader('Zendesk-Api-Version', '2022-01-01');
        if (path === '/oauth/tokens' && req.method === 'POST') return await tokenEndpoint(req, res);
        const route = routes.find((r) => r.path === path);
        if (!route || req.method !== 'GET') throw new HttpError(404, { error: 'InvalidEndpoint', description: 'Not found' });
        stats.requests++;
        stats.requestsByEndpoint[route.endpoint.id] = (stats.requestsByEndpoint[route.endpoint.id] ?? 0) + 1;
        stats.requestsByAccount[accountName] = (stats.requestsByAccount[accountName] ?? 0) + 1;
        if (await injectFault(res)) return;
        authenticate(req.headers.authorization);
        if (faults.rateLimitNext > 0) {
          faults.rateLimitNext--;
          res.setHeader('Retry-After', String(faults.retryAfterSeconds));
          throw new HttpError(429, 'Number of allowed API requests per minute exceeded');
        }
        spendBudget(accountName, route.endpoint.bucket, res, route.endpoint);
        const body = servePage(account(accountName), route.endpoint, route.resource, url.searchParams, url);
        let text = JSON.stringify(body);
        if (faults.malformedNext > 0 || chance(faults.malformedRate)) {
          if (faults.malformedNext > 0) faults.malformedNext--;
          text = text.slice(0, Math.floor(text.length / 2));
        }
        stats.statuses[200] = (stats.statuses[200] ?? 0) + 1;
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(text);
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 500;
        if (!path.startsWith('/__sim/')) stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
        if (!res.headersSent) json(res, status, err instanceof HttpError ? err.body : { error: 'ServerError', description: String(err) });
      }
    })();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}`;

  const api: Simulator = {
    url,
    port,
    accountUrl: (name) => `${url}/accounts/${name}`,
    stats: () => structuredClone(stats),
    resetStats: () => void (stats = emptyStats()),
    expected(accountName, resource, opts = {}) {
      const data = account(accountName);
      const params = new URLSearchParams({ support_type_scope: opts.supportTypeScope ?? 'all' });
      if (opts.excludeDeleted) params.set('exclude_deleted', 'true');
      const endpoint = ENDPOINTS.find((e) => e.id !== 'sample' && (e.resources as readonly string[]).includes(resource))! as EndpointSpec;
      const out: Record<string, unknown>[] = [];
      for (const entry of data.entries(resource, { second: opts.startTime ?? 0 })) {
        if (visible(data, resource, entry, params, endpoint)) out.push(data.record(resource, entry));
      }
      return out;
    },
    updateRecord(accountName, resource, id) {
      const data = account(accountName);
      const second = Math.floor(Date.now() / 1000);
      data.update(resource, id, second);
      return data.record(resource, { second, id });
    },
    addRecords(accountName, resource, n) {
      const data = account(accountName);
      for (let i = 0; i < n; i++) data.add(resource, Math.floor(Date.now() / 1000));
    },
    setFaults(f) {
      faults = { ...faults, ...f };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return api;
}
