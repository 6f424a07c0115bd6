import {
  chooseEndpoint,
  cursorEndpointFor,
  defaultBudget,
  endpointPath,
  endpointSpec,
  ENDPOINTS,
  ENDPOINT_IDS,
  isEndpointId,
  isRateBucket,
  isResource,
  RATE_BUCKETS,
  RESOURCES,
  RESOURCE_SPECS,
  type EndpointId,
} from '../../zendesk/endpoints';

describe('the endpoint table', () => {
  it('describes the seven endpoints once, each with a distinct path', () => {
    expect(ENDPOINT_IDS).toEqual(['sample', 'organizations', 'ticket_events', 'tickets_time', 'tickets_cursor', 'users_time', 'users_cursor']);
    expect(new Set(ENDPOINTS.map((e) => e.path)).size).toBe(7);
  });

  it('gives every endpoint a known bucket, a page limit and its bucket header', () => {
    for (const e of ENDPOINTS) {
      expect(RATE_BUCKETS[e.bucket]).toBeDefined();
      expect(e.maxPerPage).toBe(e.id === 'sample' ? 50 : 1000);
    }
    expect(RATE_BUCKETS.sample.budget).toEqual({ requests: 10, seconds: 1200 });
    for (const b of Object.values(RATE_BUCKETS)) expect(b.header).toMatch(/^zendesk-ratelimit-/);
    expect(RATE_BUCKETS['incremental-exports'].budget).toEqual({ requests: 10, seconds: 60 });
    expect(endpointSpec('users_cursor').bucket).toBe('incremental-exports-cursor');
    expect(RATE_BUCKETS['incremental-exports-cursor'].budget).toEqual({ requests: 20, seconds: 60 });
  });

  it('hands out budgets that callers may change without changing the table', () => {
    const budget = defaultBudget('incremental-exports');
    budget.requests = 1;
    expect(RATE_BUCKETS['incremental-exports'].budget.requests).toBe(10);
  });

  it('knows only its own names, whatever an input holds', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'TICKETS', 'tickets ', '', null, 7]) {
      expect(isResource(name)).toBe(false);
      expect(isEndpointId(name)).toBe(false);
      expect(isRateBucket(String(name))).toBe(false);
    }
    expect(() => endpointSpec('bogus' as EndpointId)).toThrow(TypeError);
  });

  it('takes no page size on the sample endpoint (50 a page, always)', () => {
    expect(endpointSpec('sample').params).toEqual([]);
    expect(endpointSpec('organizations').params).not.toContain('support_type_scope');
  });

  it('fills the resource into the sample path', () => {
    expect(endpointPath(endpointSpec('sample'), 'ticket_events')).toBe('/api/v2/incremental/ticket_events/sample');
    expect(endpointPath(endpointSpec('tickets_cursor'), 'tickets')).toBe('/api/v2/incremental/tickets/cursor');
  });

  it('prefers cursor paging where a resource has it, and refuses modes that do not exist', () => {
    expect(chooseEndpoint('tickets', {})).toEqual({ endpoint: endpointSpec('tickets_cursor') });
    expect(chooseEndpoint('users', { mode: 'time' })).toEqual({ endpoint: endpointSpec('users_time') });
    expect(chooseEndpoint('organizations', {})).toEqual({ endpoint: endpointSpec('organizations') });
    expect(chooseEndpoint('ticket_events', { mode: 'cursor' })).toEqual({ error: 'ticket_events can only be exported in time mode.' });
    expect(chooseEndpoint('users', { sample: true })).toEqual({ endpoint: endpointSpec('sample') });
    expect(cursorEndpointFor('organizations')).toBeUndefined();
    expect(cursorEndpointFor('tickets')?.id).toBe('tickets_cursor');
  });

  it('lists, for every resource, endpoints that serve it', () => {
    for (const r of RESOURCES) {
      for (const id of RESOURCE_SPECS[r].endpoints) expect(endpointSpec(id).resources).toContain(r);
    }
    expect(RESOURCE_SPECS.tickets.versionField).toBe('generated_timestamp');
  });
});
