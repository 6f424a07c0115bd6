/**
 * A Zendesk-compatible HTTP server for the seven Incremental Export endpoints of the endpoint table
 * (zendesk/endpoints.ts). This module wires the parts to HTTP: records (records.ts), pages
 * (paging.ts), credentials (auth.ts), rate limits (limits.ts), faults (faults.ts) and the /__sim/
 * control surface (control.ts). The default account is served at the root, others under
 * /accounts/<name>. What it follows of real Zendesk, and how to pick each variant: docs/zendesk-behaviour.md.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ENDPOINTS, endpointPath, type EndpointSpec, type Resource } from '../zendesk/endpoints';
import { Credentials } from './auth';
import { serveControl } from './control';
import { HttpError, notFound, rateLimited } from './errors';
import { FaultInjector, noFaultCounts } from './faults';
import type { ExpectedOptions, Simulator } from './handle';
import { JSON_TYPE, readBody, writeAnswer } from './http';
import { jsonText } from './json-text';
import { RateLimits, type Headers } from './limits';
import { DEFAULT_RECENT_WINDOW_SECONDS, DEFAULT_SEED, DEFAULT_SIZES, DEFAULT_SPAN_SECONDS, accountNames, isAccountName, type SimulatorOptions } from './options';
import { servePage, type PagingRules } from './paging';
import { seededRandom } from './random';
import { Accounts, MAX_SPAN_SECONDS } from './records';
import { noRequestCounts } from './stats';

const ROUTES = new Map(
  ENDPOINTS.flatMap((endpoint) => endpoint.resources.map((resource) => [endpointPath(endpoint, resource), { endpoint: endpoint as EndpointSpec, resource }] as const)),
);

function setHeaders(res: http.ServerResponse, headers: Headers): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
}

/** One simulated Zendesk: its accounts, limits, credentials and faults, and its answers over HTTP. */
class SimulatedZendesk {
  readonly clock: () => number;
  readonly rules: PagingRules;
  readonly accounts: Accounts;
  readonly limits: RateLimits;
  readonly faults: FaultInjector;
  readonly credentials: Credentials;
  private readonly rateLimitAnswer: NonNullable<SimulatorOptions['rateLimitAnswer']>;
  private readonly defaultAccount: string;
  counts = noRequestCounts();
  generatedAtReset = 0;

  constructor(options: SimulatorOptions) {
    this.clock = options.now ?? Date.now;
    const seed = (options.seed ?? DEFAULT_SEED) >>> 0;
    this.rules = {
      growPages: options.growPages ?? true,
      timeBoundary: options.timeBoundary ?? 'next-second',
      emptyFirstCursor: options.emptyFirstCursor ?? 'null',
      recentWindowSeconds: Math.max(0, options.recentWindowSeconds ?? DEFAULT_RECENT_WINDOW_SECONDS),
      tooRecentAnswer: options.tooRecentAnswer ?? 'json-5-minutes',
    };
    this.rateLimitAnswer = options.rateLimitAnswer ?? 'json';
    const names = accountNames(options.accounts);
    this.defaultAccount = names[0]!;
    this.accounts = new Accounts(names, {
      seed,
      sizes: { ...DEFAULT_SIZES, ...options.sizes },
      eventsPerTicket: options.eventsPerTicket,
      sameSecond: options.sameSecond ?? 0,
      spanSeconds: Math.min(options.spanSeconds ?? DEFAULT_SPAN_SECONDS, MAX_SPAN_SECONDS),
      endSecond: options.endTime ?? this.nowSecond() - this.rules.recentWindowSeconds - 1,
    });
    this.limits = new RateLimits({ budgets: options.rateLimits, accountHeaders: options.accountHeaders ?? 'ratelimit', bucketHeader: options.bucketHeader ?? true });
    this.credentials = new Credentials(options, seededRandom(seed ^ 0x70c3e5));
    this.faults = new FaultInjector(options.faults, seed);
  }

  nowSecond(): number {
    return Math.floor(this.clock() / 1000);
  }

  /** Answers a request; `sim` is the handle the /__sim/ control surface acts on. */
  async handle(req: http.IncomingMessage, res: http.ServerResponse, sim: Simulator): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    const prefixed = /^\/accounts\/([^/]+)(\/.*)?$/.exec(url.pathname);
    const prefixAccount = prefixed ? decodeURIComponent(prefixed[1]!) : undefined;
    const path = prefixed ? (prefixed[2] ?? '/') : url.pathname;
    const whoAmIPath = /^\/api\/v2\/users\/me(\.json)?$/.test(path);
    // Not export requests: left out of the statuses.
    const authorizePath = path === '/oauth/authorizations/new';
    const internal = path.startsWith('/__sim/') || path === '/oauth/tokens' || authorizePath || whoAmIPath;
    try {
      if (path.startsWith('/__sim/')) return await serveControl(sim, req, res, url, path, prefixAccount);
      if (path === '/oauth/tokens' && req.method === 'POST') return await this.tokenEndpoint(req, res);
      if (authorizePath && req.method === 'GET') {
        // The admin approves at once: straight back to the client's redirect URI with a code.
        res.writeHead(302, { Location: this.credentials.authorize(url.searchParams, this.clock()) });
        return void res.end();
      }
      if (prefixAccount !== undefined && !isAccountName(prefixAccount)) throw notFound();
      if (whoAmIPath && req.method === 'GET') return this.whoAmI(req, res);
      await this.serveApi(req, res, url, prefixAccount ?? this.defaultAccount, path);
    } catch (err) {
      if (res.headersSent || res.destroyed) return;
      if (err instanceof HttpError) this.answer(res, err.status, err.body, undefined, !internal);
      else {
        const bad = err instanceof RangeError;
        this.answer(res, bad ? 400 : 500, { error: bad ? 'InvalidValue' : 'InternalServerError', description: (err as Error).message }, undefined, !internal);
      }
    }
  }

  /** Sends an answer; export requests count their status, requests to the simulator itself do not. */
  private answer(res: http.ServerResponse, status: number, body: unknown, contentType?: string, counted = true): void {
    if (counted) this.counts.statuses[status] = (this.counts.statuses[status] ?? 0) + 1;
    writeAnswer(res, status, body, contentType);
  }

  private async serveApi(req: http.IncomingMessage, res: http.ServerResponse, url: URL, accountName: string, path: string): Promise<void> {
    const { counts, limits, faults, clock } = this;
    const route = ROUTES.get(path.replace(/\.json$/, ''));
    counts.requests++;
    counts.requestsByAccount[accountName] = (counts.requestsByAccount[accountName] ?? 0) + 1;
    setHeaders(res, limits.accountHeaders(accountName, clock()));
    if (!route || req.method !== 'GET') throw notFound();
    const { endpoint, resource } = route;
    counts.requestsByEndpoint[endpoint.id] = (counts.requestsByEndpoint[endpoint.id] ?? 0) + 1;
    setHeaders(res, limits.bucketHeader(accountName, endpoint.bucket, clock()));
    if (await faults.beforeAnswer(res, (status, body, type) => this.answer(res, status, body, type))) return;
    this.credentials.authenticate(req.headers.authorization, clock());
    const foreignWait = faults.rateLimitNow();
    if (foreignWait !== undefined) {
      res.setHeader('Retry-After', String(foreignWait));
      setHeaders(res, limits.emptyBucketHeader(accountName, endpoint.bucket, foreignWait));
      throw rateLimited(this.rateLimitAnswer);
    }
    const taken = limits.take(accountName, endpoint.bucket, clock());
    setHeaders(res, taken.headers);
    if (!taken.ok) {
      res.setHeader('Retry-After', String(taken.retryAfter));
      throw rateLimited(this.rateLimitAnswer);
    }
    const query = url.search.replace(/^\?/, '');
    const body = servePage(this.accounts.get(accountName), { endpoint, resource, base: `${url.origin}${url.pathname}`, query }, this.rules, this.nowSecond());
    this.answer(res, 200, faults.malform(jsonText(body)), JSON_TYPE);
  }

  /** The current user, as Zendesk answers it: anonymous without credentials, 401 with wrong ones. Not an export request. */
  private whoAmI(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.headers.authorization) this.credentials.authenticate(req.headers.authorization, this.clock());
    const user = req.headers.authorization ? { id: 1, name: 'Admin', role: 'admin' } : { id: null, name: 'Anonymous user', role: 'end-user' };
    this.answer(res, 200, { user }, undefined, false);
  }

  private async tokenEndpoint(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    let grant;
    try {
      grant = this.credentials.grant(body, this.clock());
    } catch (err) {
      if (body.grant_type === 'refresh_token' && err instanceof HttpError && (err.body as { error?: unknown }).error === 'invalid_grant') this.counts.refreshesRefused++;
      throw err;
    }
    this.counts.tokensIssued++;
    if (grant.refreshed) this.counts.tokensRefreshed++;
    await this.faults.beforeTokenAnswer();
    this.answer(res, 200, grant.body, undefined, false);
  }


  /** The newest version of every record a full export delivers, as the exact text served. */
  *expectedText(accountName: string | undefined, resource: Resource, opts: ExpectedOptions = {}): Generator<string> {
    const data = this.accounts.get(accountName);
    const scope = opts.supportTypeScope ?? 'agent';
    for (const entry of data.entries(resource, opts.startTime ?? 0)) {
      if (data.visible(resource, entry.id, scope, opts.excludeDeleted === true)) yield data.text(resource, entry.id, { commentEvents: opts.commentEvents })!;
    }
  }
}

/** Listens where the options say; the URL clients use. */
async function listen(server: http.Server, options: SimulatorOptions): Promise<{ port: number; url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  return { port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
}

/** What a caller holds: the oracle, the run-time controls, the stats and close(). */
function simulatorHandle(zendesk: SimulatedZendesk, server: http.Server, port: number, url: string): Simulator {
  const { accounts, limits, faults } = zendesk;
  const iterateExpectedText: Simulator['iterateExpectedText'] = (accountName, resource, opts) => zendesk.expectedText(accountName, resource, opts);
  function* iterateExpected(accountName: string | undefined, resource: Resource, opts: ExpectedOptions = {}): Generator<Record<string, unknown>> {
    for (const text of iterateExpectedText(accountName, resource, opts)) yield JSON.parse(text) as Record<string, unknown>;
  }
  return {
    url,
    port,
    accountUrl: (name) => `${url}/accounts/${encodeURIComponent(name)}`,
    stats: () => ({ ...structuredClone(zendesk.counts), ...limits.snapshot(), faults: { ...faults.counts }, recordsGenerated: accounts.generated() - zendesk.generatedAtReset }),
    resetStats: () => {
      zendesk.counts = noRequestCounts();
      limits.resetUsage();
      faults.counts = noFaultCounts();
      zendesk.generatedAtReset = accounts.generated();
    },
    expected: (accountName, resource, opts) => [...iterateExpected(accountName, resource, opts)],
    iterateExpected,
    expectedText: (accountName, resource, opts) => [...iterateExpectedText(accountName, resource, opts)],
    iterateExpectedText,
    expectedSideload(accountName, sideload, id) {
      const shape = accounts.get(accountName).sideload(sideload, id);
      return shape && (JSON.parse(jsonText(shape)) as Record<string, unknown>);
    },
    updateRecord(accountName, resource, id) {
      const data = accounts.get(accountName);
      data.update(resource, id, zendesk.nowSecond());
      return data.record(resource, id)!;
    },
    addRecords(accountName, resource, n) {
      const data = accounts.get(accountName);
      if (!Number.isInteger(n) || n < 0) throw new RangeError('n must be a whole number');
      return Array.from({ length: n }, () => data.add(resource, zendesk.nowSecond()));
    },
    setFaults: (f) => faults.set(f),
    revokeGrant: (token) => zendesk.credentials.revoke(token),
    faults: () => faults.current(),
    close: () =>
      new Promise<void>((resolve) => {
        faults.wakeAll();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const zendesk = new SimulatedZendesk(options);
  const handle: { sim?: Simulator } = {};
  const server = http.createServer((req, res) => void zendesk.handle(req, res, handle.sim!));
  server.keepAliveTimeout = 60_000;
  const { port, url } = await listen(server, options);
  return (handle.sim = simulatorHandle(zendesk, server, port, url));
}
