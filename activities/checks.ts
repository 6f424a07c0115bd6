/**
 * Checks of what crosses into the worker. Any Temporal client can start a workflow or send a signal,
 * so the workflows check their inputs and the activity checks its own before anything is used: each
 * check returns one sentence naming the field, or undefined. Pure: workflow code imports it.
 */
import { isAccountName, printable } from '../zendesk/account';
import { endpointSpec, isEndpointId, isResource, isSupportTypeScope, type EndpointId, type Resource } from '../zendesk/endpoints';
import { MAX_CURSOR_LENGTH, type ExportPosition } from '../zendesk/paging';
import { RUN_SENDING_MS, type DestinationRef, type ExportTarget, type FetchPagesInput } from './contract';

/** Versions remembered at one second; more would bloat workflow state (a page holds at most 1000). */
export const MAX_BOUNDARY_KEYS = 50_000;
/** Requests one run of pages may make (the largest budget Zendesk sells is 60 a minute). */
export const MAX_REQUESTS_PER_RUN = 1000;
const MAX_PATH_LENGTH = 1024;
const TARGET_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const ORIGIN = /^\d{8}T\d{6}\.\d{3}Z-[a-z_]{1,40}$/;

const isPlainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown, max: number): v is number => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= max;

/** The account's name: a Zendesk subdomain, never anything that could change a URL or a path. */
export function checkAccount(account: unknown, field = 'account'): string | undefined {
  return isAccountName(account) ? undefined : `${field} "${printable(account)}" is not a Zendesk subdomain (lower-case letters, digits and hyphens)`;
}

export function checkDestination(destination: unknown): string | undefined {
  if (!isPlainObject(destination)) return 'destination is missing';
  if (destination.kind === 'ndjson') {
    const dir = destination.dir;
    if (typeof dir !== 'string' || !dir || dir.length > MAX_PATH_LENGTH || dir.includes('\0')) return 'destination.dir is not a folder name';
    return undefined;
  }
  if (destination.kind === 'postgres') {
    return typeof destination.target === 'string' && TARGET_NAME.test(destination.target)
      ? undefined
      : `destination.target "${printable(destination.target)}" is not a Postgres target name (lower-case letters, digits, "_" and "-")`;
  }
  return `destination.kind "${printable(destination.kind)}" is neither ndjson nor postgres`;
}

/** A position an export may stand at, on an endpoint that exports `resource`. */
export function checkPosition(at: unknown, resource: Resource, field = 'position'): string | undefined {
  if (!isPlainObject(at)) return `${field} is missing`;
  if (!isEndpointId(at.endpoint)) return `${field}.endpoint "${printable(at.endpoint)}" is not one of the seven endpoints`;
  const endpoint = endpointSpec(at.endpoint);
  if (!(endpoint.resources as readonly string[]).includes(resource)) return `${field}.endpoint ${endpoint.id} does not export ${resource}`;
  const next = at.next;
  if (!isPlainObject(next) || next.kind !== endpoint.paging) return `${field}.next is not a ${endpoint.paging} position`;
  if (!isCount(next.startTime, 1e11)) return `${field}.next.startTime is not a Unix time in seconds`;
  if (next.kind === 'cursor' && next.cursor !== null && (typeof next.cursor !== 'string' || !next.cursor || next.cursor.length > MAX_CURSOR_LENGTH)) {
    return `${field}.next.cursor is not a cursor`;
  }
  const boundary = at.boundary;
  if (!isPlainObject(boundary) || !Number.isSafeInteger(boundary.second) || (boundary.second as number) < -1) return `${field}.boundary is not a boundary`;
  if (!Array.isArray(boundary.keys) || boundary.keys.length > MAX_BOUNDARY_KEYS || boundary.keys.some((k) => typeof k !== 'string' || k.length > 100)) {
    return `${field}.boundary.keys is not a list of record versions`;
  }
  if (at.perPage !== undefined) {
    if (!(endpoint.params as readonly string[]).includes('per_page')) return `${field}.perPage is given, but the ${endpoint.id} endpoint takes no page size`;
    if (!(Number.isSafeInteger(at.perPage) && (at.perPage as number) >= 1 && (at.perPage as number) <= endpoint.maxPerPage)) {
      return `${field}.perPage is not a page size from 1 to ${endpoint.maxPerPage}`;
    }
  }
  return undefined;
}

/** Sideloads, deleted tickets and support type scope, as the endpoint takes them. */
export function checkOptions(options: unknown, endpoint: EndpointId, field = 'options'): string | undefined {
  if (options === undefined) return undefined;
  if (!isPlainObject(options)) return `${field} is not an object`;
  const spec = endpointSpec(endpoint);
  if (options.include !== undefined) {
    if (!Array.isArray(options.include) || options.include.some((s) => typeof s !== 'string' || !Object.hasOwn(spec.sideloads, s))) {
      return `${field}.include names a sideload the ${endpoint} endpoint does not have`;
    }
  }
  if (options.excludeDeleted !== undefined && typeof options.excludeDeleted !== 'boolean') return `${field}.excludeDeleted is not true or false`;
  if (options.supportTypeScope !== undefined && !isSupportTypeScope(options.supportTypeScope)) return `${field}.supportTypeScope is not all, agent or ai_agent`;
  if (options.perPage !== undefined) {
    if (!(spec.params as readonly string[]).includes('per_page')) return `${field}.perPage is given, but the ${endpoint} endpoint takes no page size`;
    if (!(Number.isSafeInteger(options.perPage) && (options.perPage as number) >= 1 && (options.perPage as number) <= spec.maxPerPage)) {
      return `${field}.perPage is not a page size from 1 to ${spec.maxPerPage}`;
    }
  }
  return undefined;
}

export function checkTarget(target: unknown, endpoint: EndpointId): string | undefined {
  if (!isPlainObject(target)) return 'target is missing';
  if (!isResource(target.resource)) return `target.resource "${printable(target.resource)}" is not tickets, users, organizations or ticket_events`;
  return (
    checkAccount(target.account, 'target.account') ??
    checkOptions(target.options, endpoint, 'target.options') ??
    checkDestination(target.destination) ??
    (typeof target.exportId === 'string' && target.exportId.length <= 300 ? undefined : 'target.exportId is not a workflow ID') ??
    (typeof target.origin === 'string' && ORIGIN.test(target.origin) ? undefined : 'target.origin is not an export stamp')
  );
}

/** The whole activity input. */
export function checkFetchPagesInput(input: unknown): string | undefined {
  if (!isPlainObject(input)) return 'the input is missing';
  const at = input.at as ExportPosition | undefined;
  const target = input.target as ExportTarget | undefined;
  const resource = isPlainObject(target) && isResource(target.resource) ? target.resource : undefined;
  if (!resource) return checkTarget(target, 'tickets_time');
  return (
    checkPosition(at, resource, 'at') ??
    checkTarget(target, at!.endpoint) ??
    (Number.isSafeInteger(input.firstPage) && (input.firstPage as number) >= 1 ? undefined : 'firstPage is not a page number') ??
    (Number.isSafeInteger(input.maxRequests) && (input.maxRequests as number) >= 1 && (input.maxRequests as number) <= MAX_REQUESTS_PER_RUN
      ? undefined
      : `maxRequests is not a number of requests from 1 to ${MAX_REQUESTS_PER_RUN}`) ??
    checkLaterSlots(input.laterMs, MAX_REQUESTS_PER_RUN - (input.maxRequests as number)) ??
    (input.resume === undefined || typeof input.resume === 'boolean' ? undefined : 'resume is not true or false')
  );
}

/** A run's later requests: absent, or ascending whole milliseconds within the run's sending time, no more than a run may make. */
function checkLaterSlots(later: unknown, room: number): string | undefined {
  if (later === undefined) return undefined;
  const fits =
    Array.isArray(later) &&
    later.length <= room &&
    later.every((ms, i) => Number.isSafeInteger(ms) && ms >= 0 && ms <= RUN_SENDING_MS && (i === 0 || ms >= later[i - 1]));
  return fits ? undefined : `laterMs is not an ascending list of at most ${room} waits of 0 to ${RUN_SENDING_MS} ms`;
}

export type { DestinationRef, FetchPagesInput };
