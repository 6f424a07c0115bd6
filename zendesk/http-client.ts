/**
 * The HTTP client: one call fetches one page of one endpoint and returns it as Zendesk sent it, or
 * throws a classified ZendeskError. Requests go only to the account's own origin, never follow a
 * redirect (they carry the credentials), and read at most `maxResponseBytes`. An answer has a deadline
 * as a whole (a body dripped byte by byte cannot hold a batch for ever), is abandoned when the batch is
 * cancelled, and its bytes count against the worker's AnswerMemory while it is read.
 */
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { AnswerMemory, AnswerMemoryFullError } from './answer-memory';
import { describeAccountUrl, requestUrl, type AccountUrl } from './account';
import type { AuthProvider } from './auth';
import { endpointPath, RATE_BUCKETS, RESOURCE_SPECS, type EndpointSpec, type Resource } from './endpoints';
import {
  errorForStatus,
  looksLikeHtml,
  WRONG_BASE_URL_HINT,
  ZendeskAnswerRefusedError,
  ZendeskError,
  ZendeskTransientError,
  ZendeskUnexpectedAnswerError,
} from './errors';
import { reasonedFields, type Page, type PageRecord, type RateLimitState } from './page';
import { topLevelArrayTexts } from './raw-json';
import { readAnswer, type ScannedAnswer, type ScannedRecord } from './strict-json';
import { accountResetSeconds, readRateLimitHeaders, retryAfter } from './rate-limit-headers';

export interface ZendeskClientOptions {
  /** The account's name (its subdomain), for messages. */
  account: string;
  url: AccountUrl;
  auth: AuthProvider;
  /** Per request, for the whole answer (connecting, waiting, and reading the body). @default 120000 (pages of 1000 tickets with sideloads can be slow) */
  timeoutMs?: number;
  /** Answers larger than this are refused. @default 256 MiB (a page of 1000 tickets with sideloads is a few MiB) */
  maxResponseBytes?: number;
  /** The bytes of answers the whole worker process may hold at once. @default a cap of its own, DEFAULT_ANSWER_MEMORY_BYTES */
  memory?: AnswerMemory;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024;
export const DEFAULT_ANSWER_MEMORY_BYTES = 512 * 1024 * 1024;

// Keep-alive: an export is a long series of requests to one host.
const httpAgent = new http.Agent({ keepAlive: true });
const httpsAgent = new https.Agent({ keepAlive: true });

export class ZendeskClient {
  private readonly http: AxiosInstance;
  private readonly maxResponseBytes: number;
  private readonly timeoutMs: number;
  private readonly memory: AnswerMemory;

  constructor(private readonly options: ZendeskClientOptions) {
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.memory = options.memory ?? new AnswerMemory(DEFAULT_ANSWER_MEMORY_BYTES);
    this.http = axios.create({
      timeout: this.timeoutMs,
      httpAgent,
      httpsAgent,
      headers: { Accept: 'application/json', 'User-Agent': 'zendesk-export' },
      // Read here as it arrives (readBody): records are written as sent, a truncated body must be seen
      // as such, error bodies may be plain text, and the bytes are counted against the worker's memory.
      responseType: 'stream',
      validateStatus: () => true,
      maxRedirects: 0,
    });
  }

  get account(): string {
    return this.options.account;
  }

  /** One page: `params` from the paging module, `include` to know which sideload arrays to keep. */
  async fetchPage(
    endpoint: EndpointSpec,
    resource: Resource,
    params: Record<string, string>,
    include: readonly string[] = [],
    signal?: AbortSignal,
  ): Promise<Page> {
    const path = endpointPath(endpoint, resource);
    const where = `account "${this.options.account}" ${path}`;
    const url = requestUrl(this.options.url, path, params);
    let renewed = false;
    for (;;) {
      const response = await this.send(url, where, signal);
      const rateLimit = readRateLimitHeaders(response.headers, RATE_BUCKETS[endpoint.bucket].header);
      if (response.status === 401 && !renewed && (await this.options.auth.renew())) {
        renewed = true; // An expired OAuth token: one more try with a fresh one.
        continue;
      }
      if (response.status < 200 || response.status >= 300 || response.status === 204) {
        throw errorForStatus(response.status, response.data, {
          where,
          authMethod: this.options.auth.method,
          retryAfter: retryAfter(response.headers),
          resetSeconds: accountResetSeconds(response.headers),
          rateLimit,
        });
      }
      const contentType = String(response.headers['content-type'] ?? '');
      return parsePage(endpoint, resource, include, response.data as string, rateLimit, where, contentType);
    }
  }

  /** One request and its whole body as text, within the deadline; `signal` (the batch's cancellation) abandons it. */
  private async send(url: URL, where: string, signal?: AbortSignal): Promise<AxiosResponse<string>> {
    const authorization = await this.options.auth.authorization().catch((err: unknown) => {
      if (err instanceof ZendeskError) throw err;
      // The token store failing to save (a full disk): its message names the file, so only its code goes on.
      throw new ZendeskTransientError(`Could not get a token for ${where}: ${(err as NodeJS.ErrnoException).code ?? 'unexpected error'}`);
    });
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const abort = signal ? AbortSignal.any([signal, deadline]) : deadline;
    try {
      const response = await this.http.get<Readable>(url.href, { headers: { Authorization: authorization }, signal: abort });
      return { ...response, data: await this.readBody(response.data, where, abort) };
    } catch (err) {
      if (err instanceof ZendeskError) throw err;
      if (deadline.aborted) {
        throw new ZendeskTransientError(`Zendesk did not finish its answer for ${where} within ${this.timeoutMs / 1000}s (ZENDESK_REQUEST_TIMEOUT_SECONDS)`);
      }
      if (signal?.aborted) throw new ZendeskTransientError(`The request ${where} was abandoned: its batch was cancelled`);
      if (err instanceof AnswerMemoryFullError) {
        throw new ZendeskTransientError(`Zendesk's answer for ${where} was abandoned: ${err.message} (ZENDESK_MAX_ANSWERS_MB); it is asked for again`);
      }
      const e = err as { code?: string; message?: string };
      if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') {
        throw new ZendeskTransientError(`Could not find ${describeAccountUrl(this.options.url)} for ${where} (${e.code}): ${WRONG_BASE_URL_HINT}`);
      }
      // Resets, timeouts, refused connections: the message names the request, never its headers.
      throw new ZendeskTransientError(`Could not reach Zendesk for ${where}: ${e.code ?? e.message ?? 'network error'}`);
    }
  }

  /**
   * The body as text, each chunk's bytes taken from the worker's AnswerMemory before it is kept (the
   * socket waits meanwhile) and all given back when it is done; no more than maxResponseBytes.
   */
  private async readBody(body: Readable, where: string, abort: AbortSignal): Promise<string> {
    const held = this.memory.open();
    const stop = () => body.destroy(abort.reason instanceof Error ? abort.reason : new Error('aborted'));
    abort.addEventListener('abort', stop);
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.maxResponseBytes) {
          throw new ZendeskAnswerRefusedError(
            `Zendesk's answer for ${where} is larger than ${Math.round(this.maxResponseBytes / 1048576)} MiB; ask for smaller pages (--per-page).`,
          );
        }
        await held.take(chunk.length, abort);
        chunks.push(chunk);
      }
      return Buffer.concat(chunks).toString('utf8');
    } finally {
      abort.removeEventListener('abort', stop);
      body.destroy();
      held.release();
    }
  }
}

/**
 * A page from a 2xx body. Lenient where Zendesk is (unknown fields pass through, an empty first cursor
 * page may carry no cursor); strict where an answer cannot be Zendesk's (an HTML page, JSON without
 * the records array). A body cut short is transient: asking again mends it. The strict reader serves
 * compact answers; anything it cannot vouch for is read with JSON.parse, which also says what is wrong.
 */
export function parsePage(
  endpoint: EndpointSpec,
  resource: Resource,
  include: readonly string[],
  text: string,
  rateLimit: RateLimitState,
  where: string = resource,
  contentType = '',
): Page {
  if (/text\/html/i.test(contentType) || looksLikeHtml(text)) {
    throw new ZendeskUnexpectedAnswerError(`Zendesk answered an HTML page for ${where}, not a page of ${resource}: ${WRONG_BASE_URL_HINT}`);
  }
  const arrays = new Set([resource, ...include.filter((name) => endpoint.sideloads[name] === 'array')]);
  const fields = reasonedFields(RESOURCE_SPECS[resource].versionField);
  const answer = readAnswer(text, arrays, fields) ?? parsedAnswer(text, arrays, fields, where);
  const records = answer.arrays.get(resource);
  if (!records) {
    throw new ZendeskUnexpectedAnswerError(`Zendesk's answer for ${where} has no "${resource}" array: ${WRONG_BASE_URL_HINT}`);
  }
  const sideloads: Record<string, PageRecord[]> = {};
  for (const [name, list] of answer.arrays) if (name !== resource) sideloads[name] = list;
  const member = (key: string) => answer.members.get(key);
  const page: Page = { resource, records, sideloads, endOfStream: member('end_of_stream') === true, rateLimit };
  if (endpoint.paging === 'cursor') {
    const cursor = member('after_cursor');
    page.afterCursor = typeof cursor === 'string' && cursor ? cursor : null;
  } else {
    page.endTime = endTimeOf(member('end_time'), member('next_page'));
  }
  return page;
}

/** The answer read with JSON.parse, in the strict reader's shape: a page it could not vouch for. */
function parsedAnswer(text: string, arrays: ReadonlySet<string>, fields: readonly string[], where: string): ScannedAnswer {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const trimmed = text.trimStart();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      throw new ZendeskTransientError(`Zendesk sent a malformed or truncated page for ${where} (${text.length} bytes)`);
    }
    throw new ZendeskUnexpectedAnswerError(`Zendesk answered something that is not JSON for ${where}: ${WRONG_BASE_URL_HINT}`);
  }
  const answer: ScannedAnswer = { arrays: new Map(), members: new Map() };
  if (!body || typeof body !== 'object' || Array.isArray(body)) return answer;
  const texts = topLevelArrayTexts(text, arrays);
  for (const [key, value] of Object.entries(body)) {
    if (arrays.has(key) && Array.isArray(value)) answer.arrays.set(key, paired(value, texts.get(key), fields, where, key));
    else answer.members.set(key, value);
  }
  return answer;
}

/** Each parsed element's reasoned fields with its exact text; every element must be an object. */
function paired(values: unknown[], texts: string[] | undefined, fields: readonly string[], where: string, name: string): ScannedRecord[] {
  if (!texts || texts.length !== values.length) {
    throw new ZendeskTransientError(`Zendesk sent a page for ${where} whose "${name}" array could not be read element by element`);
  }
  return values.map((value, i) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      throw new ZendeskUnexpectedAnswerError(`Zendesk's "${name}" array for ${where} holds something that is not a record`);
    }
    const picked: Record<string, unknown> = {};
    for (const f of fields) if (Object.hasOwn(value, f)) picked[f] = (value as Record<string, unknown>)[f];
    return { value: picked, text: texts[i]! };
  });
}

/** `end_time`, or the `start_time` of `next_page` when Zendesk left `end_time` out. */
function endTimeOf(endTime: unknown, nextPage: unknown): number | undefined {
  if (typeof endTime === 'number' && Number.isSafeInteger(endTime) && endTime >= 0) return endTime;
  if (typeof nextPage === 'string') {
    try {
      const fromUrl = new URL(nextPage, 'http://x').searchParams.get('start_time');
      if (fromUrl && /^\d{1,12}$/.test(fromUrl)) return Number(fromUrl);
    } catch {
      // Not a URL: no end time from it.
    }
  }
  return undefined;
}
