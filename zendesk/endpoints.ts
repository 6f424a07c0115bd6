/**
 * The seven Incremental Export endpoints, described once as data.
 *
 * Every layer reads this table: the HTTP client builds requests from it, the simulator serves from it,
 * the workflow picks its pager from it, the CLI validates its arguments against it and the README's
 * endpoint list is printed from it (`zendesk-export endpoints`). Pure: no Node imports, so workflow code
 * may import it.
 */

/** The four kinds of record an account exports. The name is also the response key of the records. */
export const RESOURCES = ['tickets', 'users', 'organizations', 'ticket_events'] as const;
export type Resource = (typeof RESOURCES)[number];

/** How a resource's records identify a version of themselves. */
export interface ResourceSpec {
  resource: Resource;
  /**
   * The record field that changes on every new version and that time-based paging compares with
   * `start_time`. Tickets use `generated_timestamp`, not `updated_at`, which system updates leave alone.
   */
  versionField: string;
  /** Endpoints that export the resource, preferred first (cursor paging cannot get stuck on one second). */
  endpoints: readonly EndpointId[];
}

export const RESOURCE_SPECS: Record<Resource, ResourceSpec> = {
  tickets: { resource: 'tickets', versionField: 'generated_timestamp', endpoints: ['tickets_cursor', 'tickets_time'] },
  users: { resource: 'users', versionField: 'updated_at', endpoints: ['users_cursor', 'users_time'] },
  organizations: { resource: 'organizations', versionField: 'updated_at', endpoints: ['organizations'] },
  ticket_events: { resource: 'ticket_events', versionField: 'timestamp', endpoints: ['ticket_events'] },
};

export type EndpointId =
  | 'sample'
  | 'organizations'
  | 'ticket_events'
  | 'tickets_time'
  | 'tickets_cursor'
  | 'users_time'
  | 'users_cursor';
export type Paging = 'time' | 'cursor';
export type QueryParam = 'per_page' | 'include' | 'exclude_deleted' | 'support_type_scope';

/** A budget of `requests` per window of `seconds`. */
export interface RateBudget {
  requests: number;
  seconds: number;
}

/** A rate-limit bucket: its default budget, and the response header that may report its state. */
export interface RateBucketSpec {
  budget: RateBudget;
  /**
   * `name: total=N; remaining=N; resets=S`. Zendesk does not always send it (recorded answers of
   * 2023-2024 have none), so pacing never depends on it: it only tightens what is configured.
   */
  header: string;
}

/** Rate-limit buckets. Zendesk counts them per account, across every credential and app. */
export const RATE_BUCKETS = {
  /** `GET /api/v2/incremental/*`: 10 a minute, 30 with the High Volume add-on. */
  'incremental-exports': { budget: { requests: 10, seconds: 60 }, header: 'zendesk-ratelimit-incremental-exports' },
  /** The users cursor export has a bucket of its own: 20 a minute, 60 with High Volume. */
  'incremental-exports-cursor': { budget: { requests: 20, seconds: 60 }, header: 'zendesk-ratelimit-incremental-exports-cursor' },
  /** The sample endpoint: 10 requests per 20 minutes. */
  sample: { budget: { requests: 10, seconds: 1200 }, header: 'zendesk-ratelimit-incremental-exports-sample' },
} as const satisfies Record<string, RateBucketSpec>;
export type RateBucket = keyof typeof RATE_BUCKETS;
export const RATE_BUCKET_NAMES = Object.keys(RATE_BUCKETS) as RateBucket[];

export function isRateBucket(value: string): value is RateBucket {
  return Object.hasOwn(RATE_BUCKETS, value);
}

/** The default budget of a bucket. */
export function defaultBudget(bucket: RateBucket): RateBudget {
  const { requests, seconds } = RATE_BUCKETS[bucket].budget;
  return { requests, seconds };
}

/** The operator's ceiling for each bucket: no export of the account goes above it. */
export type RateCeilings = Record<RateBucket, RateBudget>;

/** Zendesk's published limits without the High Volume add-on: the ceilings when the operator sets none. */
export function defaultCeilings(): RateCeilings {
  return Object.fromEntries(RATE_BUCKET_NAMES.map((b) => [b, defaultBudget(b)])) as RateCeilings;
}

/**
 * Which tickets an export sees. Zendesk's default, `agent`, silently leaves out tickets handled by AI
 * agents; this project asks for `all` unless told otherwise.
 */
export const SUPPORT_TYPE_SCOPES = ['all', 'agent', 'ai_agent'] as const;
export type SupportTypeScope = (typeof SUPPORT_TYPE_SCOPES)[number];
export const DEFAULT_SUPPORT_TYPE_SCOPE: SupportTypeScope = 'all';

export function isSupportTypeScope(value: unknown): value is SupportTypeScope {
  return typeof value === 'string' && (SUPPORT_TYPE_SCOPES as readonly string[]).includes(value);
}

/**
 * How a sideload arrives. `array`: a top-level array named after it, written to its own folder.
 * `inline`: inside the records themselves (comment_events fill each event's child_events).
 */
export type SideloadKind = 'array' | 'inline';

export interface EndpointSpec {
  id: EndpointId;
  title: string;
  /** Path under the account's base URL; `{resource}` is filled in for the sample endpoint. */
  path: string;
  paging: Paging;
  /** Resources the endpoint serves; every endpoint but the sample serves exactly one. */
  resources: readonly Resource[];
  /** Optional query params it accepts besides start_time/cursor. */
  params: readonly QueryParam[];
  /** Sideloads known to work on it. */
  sideloads: Readonly<Record<string, SideloadKind>>;
  maxPerPage: number;
  bucket: RateBucket;
}

const TICKET_SIDELOADS = { users: 'array', groups: 'array', organizations: 'array', metric_sets: 'array' } as const;
const USER_SIDELOADS = { organizations: 'array', identities: 'array', groups: 'array' } as const;

export const ENDPOINTS = [
  {
    id: 'sample',
    title: 'Incremental Sample Export',
    path: '/api/v2/incremental/{resource}/sample',
    paging: 'time',
    resources: RESOURCES,
    // Identical to the full exports, but at most 50 records a page and a bucket of 10 per 20 minutes.
    params: [],
    sideloads: {},
    maxPerPage: 50,
    bucket: 'sample',
  },
  {
    id: 'organizations',
    title: 'Incremental Organization Export',
    path: '/api/v2/incremental/organizations',
    paging: 'time',
    resources: ['organizations'],
    params: ['per_page', 'include'],
    sideloads: {},
    maxPerPage: 1000,
    bucket: 'incremental-exports',
  },
  {
    id: 'ticket_events',
    title: 'Incremental Ticket Event Export',
    path: '/api/v2/incremental/ticket_events',
    paging: 'time',
    resources: ['ticket_events'],
    params: ['per_page', 'include', 'support_type_scope'],
    sideloads: { comment_events: 'inline' },
    maxPerPage: 1000,
    bucket: 'incremental-exports',
  },
  {
    id: 'tickets_time',
    title: 'Incremental Ticket Export, Time Based',
    path: '/api/v2/incremental/tickets',
    paging: 'time',
    resources: ['tickets'],
    params: ['per_page', 'include', 'exclude_deleted', 'support_type_scope'],
    sideloads: TICKET_SIDELOADS,
    maxPerPage: 1000,
    bucket: 'incremental-exports',
  },
  {
    id: 'tickets_cursor',
    title: 'Incremental Ticket Export, Cursor Based',
    path: '/api/v2/incremental/tickets/cursor',
    paging: 'cursor',
    resources: ['tickets'],
    params: ['per_page', 'include', 'exclude_deleted', 'support_type_scope'],
    sideloads: TICKET_SIDELOADS,
    maxPerPage: 1000,
    bucket: 'incremental-exports',
  },
  {
    id: 'users_time',
    title: 'Incremental User Export, Time Based',
    path: '/api/v2/incremental/users',
    paging: 'time',
    resources: ['users'],
    params: ['per_page', 'include'],
    sideloads: USER_SIDELOADS,
    maxPerPage: 1000,
    bucket: 'incremental-exports',
  },
  {
    id: 'users_cursor',
    title: 'Incremental User Export, Cursor Based',
    path: '/api/v2/incremental/users/cursor',
    paging: 'cursor',
    resources: ['users'],
    params: ['per_page', 'include'],
    sideloads: USER_SIDELOADS,
    maxPerPage: 1000,
    bucket: 'incremental-exports-cursor',
  },
] as const satisfies readonly EndpointSpec[];

export const ENDPOINT_IDS: readonly EndpointId[] = ENDPOINTS.map((e) => e.id);

/** The endpoint with this id; throws for an id not in the table (callers validate user input first). */
export function endpointSpec(id: EndpointId): EndpointSpec {
  const spec = ENDPOINTS.find((e) => e.id === id);
  if (!spec) throw new TypeError(`Unknown endpoint "${id}".`);
  return spec as EndpointSpec;
}

export function isResource(value: unknown): value is Resource {
  return typeof value === 'string' && (RESOURCES as readonly string[]).includes(value);
}

export function isEndpointId(value: unknown): value is EndpointId {
  return typeof value === 'string' && (ENDPOINT_IDS as readonly string[]).includes(value);
}

/** The path of an endpoint for a resource, e.g. `/api/v2/incremental/users/sample`. */
export function endpointPath(endpoint: EndpointSpec, resource: Resource): string {
  return endpoint.path.replace('{resource}', resource);
}

/**
 * The endpoint that exports `resource` in `mode`, or the sample endpoint. Returns an error sentence
 * instead when the combination does not exist (organizations and ticket events are time-based only).
 */
export function chooseEndpoint(
  resource: Resource,
  choice: { mode?: Paging; sample?: boolean },
): { endpoint: EndpointSpec } | { error: string } {
  if (choice.sample) {
    if (choice.mode === 'cursor') return { error: 'The sample endpoint is time-based; drop --mode cursor.' };
    return { endpoint: endpointSpec('sample') };
  }
  const candidates = RESOURCE_SPECS[resource].endpoints.map(endpointSpec);
  const match = choice.mode ? candidates.find((e) => e.paging === choice.mode) : candidates[0];
  if (!match) {
    const modes = candidates.map((e) => e.paging).join(' or ');
    return { error: `${resource} can only be exported in ${modes} mode.` };
  }
  return { endpoint: match };
}

/** The cursor-paged endpoint for the same resource, where one exists (the way out of a stuck second). */
export function cursorEndpointFor(resource: Resource): EndpointSpec | undefined {
  return RESOURCE_SPECS[resource].endpoints.map(endpointSpec).find((e) => e.paging === 'cursor');
}
