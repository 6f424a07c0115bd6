/**
 * The HTTP client: one call fetches one page of one endpoint and returns it typed, or throws a
 * classified ZendeskError. Built on axios with keep-alive; reads the endpoint table for everything it
 * sends.
 */
import axios, { type AxiosInstance } from 'axios';
import http from 'node:http';
import https from 'node:https';
import type { AuthProvider } from './auth';
import { endpointPath, RATE_BUCKETS, type EndpointSpec, type Resource } from './endpoints';
import { errorForStatus, ZendeskError, ZendeskTransientError } from './errors';
import type { Page, PageOptions, Position, RateLimitState, ZendeskRecord } from './page';
import { parseRateLimit, retryAfterSeconds } from './rate-limit-headers';

export interface ZendeskClientOptions {
  /** The account's name (its subdomain), for messages. */
  account: string;
  /** `https://{subdomain}.zendesk.com`, or a proxy or simulator. */
  baseUrl: string;
  auth: AuthProvider;
  /** Per request. @default 120000 (pages of 1000 tickets with sideloads can be slow) */
  timeoutMs?: number;
}

/** The account's base URL: the override when given, else `https://{subdomain}.zendesk.com`. */
export function accountBaseUrl(account: string, override?: string): string {
  const base = override ? override.replaceAll('{account}', account) : `https://${account}.zendesk.com`;
  return base.replace(/\/+$/, '');
}

// Keep-alive: an export is a long series of requests to one host.
const httpAgent = new http.Agent({ keepAlive: true });
const httpsAgent = new https.Agent({ keepAlive: true });

export class ZendeskClient {
  private readonly http: AxiosInstance;

  constructor(private readonly options: ZendeskClientOptions) {
    this.http = axios.create({
      baseURL: options.baseUrl,
      timeout: options.timeoutMs ?? 120_000,
      httpAgent,
      httpsAgent,
      headers: { Accept: 'application/json', 'User-Agent': 'zendesk-export' },
      // Raw text: a truncated body must be seen as such, and error bodies may be plain text.
      responseType: 'text',
      transformResponse: (data: unknown) => data,
      validateStatus: () => true,
      maxRedirects: 0,
    });
  }

  /** The query string of a page request, as the endpoint accepts it. */
  static params(endpoint: EndpointSpec, position: Position, options: PageOptions): Record<string, string> {
    const params: Record<string, string> = {};
    if (position.kind === 'cursor' && position.cursor) params.cursor = position.cursor;
    else params.start_time = String(position.startTime);
    const accepts = (p: string) => (endpoint.params as readonly string[]).includes(p);
    if (options.perPage !== undefined && accepts('per_page')) params.per_page = String(options.perPage);
    if (options.include?.length && accepts('include')) params.include = options.include.join(',');
    if (options.excludeDeleted && accepts('exclude_deleted')) params.exclude_deleted = 'true';
    // Zendesk's default scope, `agent`, silently leaves out tickets handled by AI agents.
    if (accepts('support_type_scope')) params.support_type_scope = options.supportTypeScope ?? 'all';
    return params;
  }

  async fetchPage(
    endpoint: EndpointSpec,
    resource: Resource,
    position: Position,
    options: PageOptions = {},
    signal?: AbortSignal,
  ): Promise<Page> {
    const urlPath = endpointPath(endpoint, resource);
    const where = `account "${this.options.account}" ${urlPath}`;
    const params = ZendeskClient.params(endpoint, position, options);
    let renewed = false;
    for (;;) {
      const response = await this.send(urlPath, params, where, signal);
      const rateLimit = parseRateLimit(response.headers, RATE_BUCKETS[endpoint.bucket].header);
      if (response.status === 401 && !renewed && (await this.options.auth.renew())) {
        renewed = true; // An expired OAuth token: one more try with a fresh one.
        continue;
      }
      if (response.status < 200 || response.status >= 300) {
        throw errorForStatus(response.status, response.data, {
          where,
          authMethod: this.options.auth.method,
          retryAfterSeconds: retryAfterSeconds(response.headers),
          rateLimit,
        });
      }
      return parsePage(endpoint, resource, position, options, response.data as string, rateLimit, where);
    }
  }

  private async send(urlPath: string, params: Record<string, string>, where: string, signal?: AbortSignal) {
    const authorization = await this.options.auth.authorization();
    try {
      return await this.http.get(urlPath, { params, headers: { Authorization: authorization }, signal });
    } catch (err) {
      if (err instanceof ZendeskError) throw err;
      // Resets, timeouts, refused connections: the message names the request, never its headers.
      const e = err as { code?: string; message?: string };
      throw new ZendeskTransientError(`Could not reach Zendesk for ${where}: ${e.code ?? e.message ?? 'network error'}`);
    }
  }
}

/**
 * A page from a 2xx body. Lenient where Zendesk is: unknown fields pass through, records are never
 * rewritten, an empty first cursor page may carry no cursor. A body that is not the JSON object it
 * should be (truncated, malformed, no records array) is a transient failure: asking again mends it.
 */
export function parsePage(
  endpoint: EndpointSpec,
  resource: Resource,
  position: Position,
  options: PageOptions,
  text: string,
  rateLimit: RateLimitState,
  where: string = resource,
): Page {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ZendeskTransientError(`Zendesk sent a malformed or truncated page for ${where} (${text.length} bytes)`);
  }
  const records = body?.[resource];
  if (!body || typeof body !== 'object' || !Array.isArray(records)) {
    throw new ZendeskTransientError(`Zendesk sent a page without a "${resource}" array for ${where}`);
  }
  const sideloads: Record<string, ZendeskRecord[]> = {};
  for (const name of options.include ?? []) {
    const list = body[name];
    if (endpoint.sideloads[name] === 'array' && Array.isArray(list)) sideloads[name] = list as ZendeskRecord[];
  }
  return {
    resource,
    records: records as ZendeskRecord[],
    sideloads,
    endOfStream: body.end_of_stream === true,
    next: nextPosition(endpoint, position, body),
    rateLimit,
  };
}

function nextPosition(endpoint: EndpointSpec, position: Position, body: Record<string, unknown>): Position {
  if (endpoint.paging === 'cursor') {
    const cursor = typeof body.after_cursor === 'string' && body.after_cursor ? body.after_cursor : null;
    const previous = position.kind === 'cursor' ? position.cursor : null;
    return { kind: 'cursor', startTime: position.startTime, cursor: cursor ?? previous };
  }
  let endTime = typeof body.end_time === 'number' ? body.end_time : undefined;
  if (endTime === undefined && typeof body.next_page === 'string') {
    const fromUrl = Number(new URL(body.next_page, 'http://x').searchParams.get('start_time'));
    if (Number.isFinite(fromUrl) && fromUrl > 0) endTime = fromUrl;
  }
  // Never step backwards: an empty page without end_time leaves the position where it was.
  return { kind: 'time', startTime: Math.max(endTime ?? position.startTime, position.startTime) };
}
