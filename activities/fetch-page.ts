/**
 * The fetch-page activity: fetch one page, drop the repeats of the previous page's boundary, write
 * the records to the destination, and return only the next position and counts. Records never
 * leave this activity, so they never enter workflow history.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { dropBoundaryRepeats, EMPTY_BOUNDARY } from '../zendesk/boundary';
import { endpointSpec, RESOURCE_SPECS } from '../zendesk/endpoints';
import { ZendeskError, ZendeskRateLimitedError, ZendeskTooRecentError } from '../zendesk/errors';
import type { ZendeskClient } from '../zendesk/http-client';
import type { FetchPageInput, FetchPageResult } from '../workflows/types';
import { DestinationError, type PageSink } from './destinations/destination';

export interface FetchPageDeps {
  clientFor(account: string): ZendeskClient;
  sinkFor(destination: FetchPageInput['destination']): PageSink;
  /** Told of every page and wait, for metrics. */
  observe?(event: PageEvent): void;
}

export type PageEvent =
  | { kind: 'page'; account: string; resource: string; records: number; seconds: number }
  | { kind: 'rate-limited'; account: string; resource: string; retryAfterSeconds: number };

export async function fetchPageWith(deps: FetchPageDeps, input: FetchPageInput): Promise<FetchPageResult> {
  // Heartbeats let Temporal notice a dead worker within the heartbeat timeout, not the page timeout.
  const context = activityContext();
  const beat = context && setInterval(() => context.heartbeat(), HEARTBEAT_INTERVAL_MS);
  try {
    const result = await fetchAndWrite(deps, input, context?.cancellationSignal);
    // Failed attempts of this page may each have spent a request that the workflow never heard of.
    return { ...result, earlierAttempts: Math.max(0, (context?.info.attempt ?? 1) - 1) } as FetchPageResult;
  } finally {
    if (beat) clearInterval(beat);
  }
}

const HEARTBEAT_INTERVAL_MS = 2_000;

async function fetchAndWrite(deps: FetchPageDeps, input: FetchPageInput, signal: AbortSignal | undefined): Promise<FetchPageResult> {
  const endpoint = endpointSpec(input.endpoint);
  const { versionField } = RESOURCE_SPECS[input.resource];
  // The workflow learns how long ago the request left, not when by this machine's clock: it places
  // the send on its own clock, so worker clock skew (or skipped time in tests) cannot bend the pace.
  const sentAt = Date.now();
  let page;
  try {
    const client = deps.clientFor(input.account);
    page = await client.fetchPage(endpoint, input.resource, input.position, input.options, signal);
  } catch (err) {
    if (err instanceof ZendeskRateLimitedError) {
      deps.observe?.({ kind: 'rate-limited', account: input.account, resource: input.resource, retryAfterSeconds: err.retryAfterSeconds });
      return { kind: 'rate-limited', retryAfterSeconds: err.retryAfterSeconds, rateLimit: err.rateLimit, sinceSentMs: Date.now() - sentAt };
    }
    if (err instanceof ZendeskTooRecentError) return { kind: 'caught-up', sinceSentMs: Date.now() - sentAt };
    throw asFailure(err);
  }

  const timeBased = endpoint.paging === 'time';
  const dropped = dropBoundaryRepeats(
    page.records,
    versionField,
    input.boundary,
    timeBased ? page.next.startTime : undefined,
  );
  const { fresh, repeats } = dropped;
  let { boundary } = dropped;
  // Cursor pages have no repeats; the boundary matters only right after a switch from a stuck second.
  if (!timeBased && (input.boundary.second < 0 || boundary.second !== input.boundary.second)) boundary = EMPTY_BOUNDARY;

  try {
    await deps.sinkFor(input.destination).writePage({
      account: input.account,
      exportId: input.exportId,
      resource: input.resource,
      endpoint: input.endpoint,
      origin: input.origin,
      pageNumber: input.pageNumber,
      records: fresh,
      sideloads: page.sideloads,
      next: page.next,
    });
  } catch (err) {
    throw asFailure(err);
  }
  const sideloaded = Object.values(page.sideloads).reduce((n, list) => n + list.length, 0);
  deps.observe?.({ kind: 'page', account: input.account, resource: input.resource, records: fresh.length, seconds: (Date.now() - sentAt) / 1000 });
  return { kind: 'page', next: page.next, endOfStream: page.endOfStream, written: fresh.length, repeats, sideloaded, boundary, rateLimit: page.rateLimit, sinceSentMs: Date.now() - sentAt };
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // Called outside an activity (benchmarks).
  }
}

/** Zendesk's and the destination's errors as Temporal failures whose type is the error class. */
function asFailure(err: unknown): ApplicationFailure {
  if (err instanceof ZendeskError) {
    return ApplicationFailure.create({ message: err.message, type: err.type, nonRetryable: !err.retryable });
  }
  if (err instanceof DestinationError) return ApplicationFailure.create({ message: err.message, type: 'DestinationError' });
  if (err instanceof ApplicationFailure) return err;
  return ApplicationFailure.create({ message: (err as Error)?.message ?? String(err), type: 'UnexpectedError' });
}
