/**
 * The contract's validators: inputs from any Temporal client are checked before anything uses them;
 * each check answers the field and what is wrong with it (one sentence together), or undefined.
 */
import { countsOf, withCounts } from '../../contract/counts';
import {
  checkAccount,
  checkBucket,
  checkBudget,
  checkCoordinatorInput,
  checkDestination,
  checkExportInput,
  checkExportRequest,
  checkOptions,
  checkPosition,
  checkSends,
  withCurrentCounts,
  type ExportInput,
} from '../../contract/export';
import { coordinatorWorkflowId, exportWorkflowId } from '../../contract/ids';
import { MAX_BOUNDARY_KEYS, MAX_REQUESTS_PER_BATCH } from '../../contract/limits';
import { checkBatchInput, batchProgressOf, type BatchInput } from '../../contract/page-activity';
import { readable, sentence, type Problem } from '../../contract/problem';
import { checkShareMessage, MAX_SHARE_SEQ_LEAD_MS, nextShareSeq } from '../../contract/share';
import { ExportRules } from '../../workflows/export-rules';

/** `base` with `patch` laid over it: objects merged key by key, anything else replaced. */
function patched(base: unknown, patch: unknown): unknown {
  const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(base) || !isObject(patch)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = patched(base[k], v);
  return out;
}

/** One sentence: no line breaks, no trailing full stop (callers add it), naming `field`. */
function expectSentence(found: Problem | undefined, field: string | RegExp): void {
  expect(found).toBeDefined();
  const problem = sentence(found!);
  expect(problem).not.toMatch(/[\n\r]/);
  if (typeof field === 'string') expect(problem!.startsWith(field) || problem!.includes(` ${field}`)).toBe(true);
  else expect(problem).toMatch(field);
}

const timeAt = { endpoint: 'tickets_time', next: { kind: 'time', startTime: 100 }, boundary: { second: -1, keys: [] } };
const cursorAt = { endpoint: 'tickets_cursor', next: { kind: 'cursor', startTime: 100, cursor: 'abc' }, boundary: { second: -1, keys: [] } };

describe('account names', () => {
  it.each(['acme', 'a', '0', 'acme-support', 'a'.repeat(63), 'x1-2-3'])('accepts %s', (name) => {
    expect(checkAccount(name)).toBeUndefined();
  });

  it.each([
    'acme#x',
    'acme/x',
    'user@acme',
    '..',
    'acme..x',
    'acme.evil.com',
    'acme:8080',
    'Acme',
    'ACME',
    'a'.repeat(64),
    'acmé',
    'аcme', // Cyrillic а
    '-acme',
    'acme-',
    'ac me',
    '',
    'acme\n',
    '%2e%2e',
    '{account}',
  ])('refuses %j', (name) => {
    expectSentence(checkAccount(name), 'account');
  });

  it.each([null, undefined, 7, ['acme'], { toString: () => 'acme' }, true])('refuses a non-string %p', (value) => {
    expectSentence(checkAccount(value), 'account');
  });

  it('quotes a bad value safely: control characters masked, long values cut', () => {
    expect(sentence(checkAccount('bad\u0000name\u001b[31m')!)).toBe('account "bad?name?[31m" is not a Zendesk subdomain (lower-case letters, digits and hyphens)');
    const problem = sentence(checkAccount('x'.repeat(5000))!);
    expect(problem.length).toBeLessThan(200);
    expect(checkAccount('Acme', 'target.account')?.field).toBe('target.account');
  });
});

describe('destinations', () => {
  it.each([
    [{ kind: 'ndjson', dir: 'out' }],
    [{ kind: 'ndjson', dir: '/srv/export/acme' }],
    [{ kind: 'postgres', target: 'default' }],
    [{ kind: 'postgres', target: 'warehouse_2-eu' }],
    [{ kind: 's3', target: 'lake' }],
  ])('accepts %j', (ref) => {
    expect(checkDestination(ref)).toBeUndefined();
  });

  it.each([
    ['destination', undefined],
    ['destination', []],
    ['destination.dir', { kind: 'ndjson' }],
    ['destination.dir', { kind: 'ndjson', dir: '' }],
    ['destination.dir', { kind: 'ndjson', dir: 'a\0b' }],
    ['destination.dir', { kind: 'ndjson', dir: 'x'.repeat(1025) }],
    ['destination.dir', { kind: 'ndjson', dir: ['out'] }],
    ['destination.target', { kind: 'postgres', target: 'postgres://me@db/zendesk' }],
    ['destination.target', { kind: 'postgres', target: 'Default' }],
    ['destination.target', { kind: 'postgres', target: '../default' }],
    ['destination.target', { kind: 'postgres', target: 'a'.repeat(64) }],
    ['destination.target', { kind: 'postgres', target: '' }],
    ['destination.target', { kind: 'postgres' }],
    ['destination.target', { kind: 's3', bucket: 'x' }],
    ['destination.target', { kind: 's3', target: 's3://bucket/prefix' }],
    ['destination.kind', { kind: 'gcs', target: 'x' }],
    ['destination.kind', { kind: '__proto__' }],
  ])('refuses a destination whose %s is wrong (case %#)', (field, ref) => {
    expectSentence(checkDestination(ref), field);
  });
});

describe('positions', () => {
  it('accepts a position of each kind on an endpoint that exports the resource', () => {
    expect(checkPosition(timeAt, 'tickets')).toBeUndefined();
    expect(checkPosition(cursorAt, 'tickets')).toBeUndefined();
    expect(checkPosition({ ...cursorAt, next: { kind: 'cursor', startTime: 0, cursor: null } }, 'tickets')).toBeUndefined();
    expect(checkPosition({ ...timeAt, endpoint: 'sample' }, 'users')).toBeUndefined();
    // The sample endpoint takes no page size: one in a position would be believed and never sent.
    expect(checkPosition({ ...timeAt, endpoint: 'sample', perPage: 10 }, 'users')?.problem).toMatch(/takes no page size/);
    expect(checkPosition({ ...timeAt, boundary: { second: 100, keys: Array.from({ length: MAX_BOUNDARY_KEYS }, (_, i) => `${i}@100`) } }, 'tickets')).toBeUndefined();
  });

  it.each([
    ['position', null],
    ['position.endpoint', { ...timeAt, endpoint: 'tickets_time2' }],
    ['position.endpoint', { ...timeAt, endpoint: '__proto__' }],
    ['position.endpoint', { ...timeAt, endpoint: 'constructor' }],
    ['position.endpoint', { ...timeAt, endpoint: 'organizations' }],
    ['position.endpoint', { ...timeAt, endpoint: 'users_time' }],
    ['position.next', { ...timeAt, next: cursorAt.next }],
    ['position.next', { ...cursorAt, next: timeAt.next }],
    ['position.next.startTime', { ...timeAt, next: { kind: 'time', startTime: -1 } }],
    ['position.next.startTime', { ...timeAt, next: { kind: 'time', startTime: 1.5 } }],
    ['position.next.startTime', { ...timeAt, next: { kind: 'time', startTime: 1e12 } }],
    ['position.next.startTime', { ...timeAt, next: { kind: 'time', startTime: '100' } }],
    ['position.next.startTime', { ...timeAt, next: { kind: 'time', startTime: NaN } }],
    ['position.next.cursor', { ...cursorAt, next: { kind: 'cursor', startTime: 0, cursor: '' } }],
    ['position.next.cursor', { ...cursorAt, next: { kind: 'cursor', startTime: 0, cursor: 'x'.repeat(2049) } }],
    ['position.next.cursor', { ...cursorAt, next: { kind: 'cursor', startTime: 0, cursor: 42 } }],
    ['position.next.cursor', { ...cursorAt, next: { kind: 'cursor', startTime: 0 } }],
    ['position.boundary', { ...timeAt, boundary: undefined }],
    ['position.boundary', { ...timeAt, boundary: { second: -2, keys: [] } }],
    ['position.boundary', { ...timeAt, boundary: { second: 1e300, keys: [] } }],
    ['position.boundary.keys', { ...timeAt, boundary: { second: 100, keys: Array.from({ length: MAX_BOUNDARY_KEYS + 1 }, (_, i) => `${i}@100`) } }],
    ['position.boundary.keys', { ...timeAt, boundary: { second: 100, keys: ['x'.repeat(101)] } }],
    ['position.boundary.keys', { ...timeAt, boundary: { second: 100, keys: [7] } }],
    ['position.boundary.keys', { ...timeAt, boundary: { second: 100, keys: 'a@100' } }],
    ['position.perPage', { ...timeAt, perPage: 0 }],
    ['position.perPage', { ...timeAt, perPage: 1001 }],
    ['position.perPage', { ...timeAt, perPage: 2.5 }],
    ['position.perPage', { ...timeAt, endpoint: 'sample', perPage: 51 }],
  ])('refuses a position whose %s is wrong (case %#)', (field, at) => {
    expectSentence(checkPosition(at, 'tickets'), field);
  });
});

describe('options', () => {
  it('accepts what the endpoint takes', () => {
    expect(checkOptions(undefined, 'tickets_cursor')).toBeUndefined();
    expect(checkOptions({ include: ['users', 'metric_sets'], excludeDeleted: true, supportTypeScope: 'ai_agent', perPage: 1000 }, 'tickets_cursor')).toBeUndefined();
    expect(checkOptions({ include: ['comment_events'] }, 'ticket_events')).toBeUndefined();
  });

  it.each([
    ['users_cursor', [], 'options'],
    ['tickets_cursor', { include: ['comment_events'] }, 'options.include'],
    ['tickets_cursor', { include: ['__proto__'] }, 'options.include'],
    ['tickets_cursor', { include: ['toString'] }, 'options.include'],
    ['tickets_cursor', { include: 'users' }, 'options.include'],
    ['organizations', { include: ['users'] }, 'options.include'],
    ['tickets_cursor', { excludeDeleted: 'true' }, 'options.excludeDeleted'],
    ['tickets_cursor', { supportTypeScope: 'AGENT' }, 'options.supportTypeScope'],
    ['tickets_cursor', { perPage: 1001 }, 'options.perPage'],
    ['sample', { perPage: 51 }, 'options.perPage'],
  ] as const)('on %s refuses %j', (endpoint, options, field) => {
    expectSentence(checkOptions(options, endpoint), field);
  });
});

describe('the page activity input', () => {
  const valid = (): BatchInput =>
    ({
      target: {
        account: 'acme',
        resource: 'tickets',
        options: { include: ['users'] },
        destination: { kind: 'ndjson', dir: 'out' },
        exportId: exportWorkflowId('acme', 'tickets', 'tickets_time'),
        origin: '20260101T000000.000Z-tickets_time',
      },
      at: structuredClone(timeAt),
      firstPage: 1,
      maxRequests: 10,
    }) as BatchInput;

  it('accepts a well-formed input', () => {
    expect(checkBatchInput(valid())).toBeUndefined();
    expect(checkBatchInput({ ...valid(), laterMs: [0, 120, 120, 9000] })).toBeUndefined();
    expect(checkBatchInput({ ...valid(), maxRequests: 1, pollsMs: [300_000, 600_000, 3_600_000] })).toBeUndefined();
    expect(checkBatchInput({ ...valid(), maxRequests: 1, laterMs: [100], rounds: { count: 4, everyMs: 60_050 } })).toBeUndefined();
  });

  it.each<[string, unknown, string]>([
    ['an unknown resource', { target: { resource: 'tikets' } }, 'target.resource'],
    ['a resource the endpoint does not export', { target: { resource: 'users' } }, 'at.endpoint'],
    ['a hostile account', { target: { account: 'acme.evil.com' } }, 'target.account'],
    ['a sideload of another endpoint', { target: { options: { include: ['comment_events'] } } }, 'target.options.include'],
    ['a destination outside the three kinds', { target: { destination: { kind: 'http', url: 'http://x' } } }, 'destination.kind'],
    ['a huge export ID', { target: { exportId: 'x'.repeat(301) } }, 'target.exportId'],
    ['an origin that is not a stamp', { target: { origin: '../../etc/passwd' } }, 'target.origin'],
    ['a cursor position on a time endpoint', { at: { next: { kind: 'cursor', startTime: 0, cursor: 'x' } } }, 'at.next'],
    ['page 0', { firstPage: 0 }, 'firstPage'],
    ['no requests', { maxRequests: 0 }, 'maxRequests'],
    ['too many requests', { maxRequests: MAX_REQUESTS_PER_BATCH + 1 }, 'maxRequests'],
    ['a later request a day later', { laterMs: [0, 86_400_000] }, 'laterMs'],
    ['later requests going back in time', { laterMs: [0, 500, 100] }, 'laterMs'],
    ['more later requests than a batch may make', { laterMs: Array<number>(MAX_REQUESTS_PER_BATCH).fill(0) }, 'laterMs'],
    ['later requests that are not times', { laterMs: ['soon'] }, 'laterMs'],
    ['follow polls beyond an hour', { pollsMs: [300_000, 3_700_000] }, 'pollsMs'],
    ['follow polls closer than a batch sends', { pollsMs: [300_000, 301_000] }, 'pollsMs'],
    ['a follow poll at once', { pollsMs: [0] }, 'pollsMs'],
    ['follow polls beside later requests', { laterMs: [100], pollsMs: [300_000] }, 'pollsMs'],
    ['more follow polls than a batch may make', { maxRequests: MAX_REQUESTS_PER_BATCH, pollsMs: [300_000] }, 'pollsMs'],
    ['no rounds', { rounds: { count: 0, everyMs: 60_050 } }, 'rounds'],
    ['rounds closer than a batch sends', { rounds: { count: 2, everyMs: 5_000 } }, 'rounds'],
    ['rounds beyond 5 minutes', { rounds: { count: 5, everyMs: 60_050 } }, 'rounds'],
    ['rounds of more requests than a batch may make', { maxRequests: 500, rounds: { count: 2, everyMs: 60_050 } }, 'rounds'],
    ['rounds beside follow polls', { maxRequests: 1, pollsMs: [300_000], rounds: { count: 1, everyMs: 60_050 } }, 'rounds'],
    ['rounds with more to them', { rounds: { count: 1, everyMs: 60_050, at: 0 } }, 'rounds'],
    ['rounds that are not a count and a time', { rounds: [1, 60_050] }, 'rounds'],
  ])('refuses %s', (_name, patch, field) => {
    expectSentence(checkBatchInput(patched(valid(), patch)), field);
  });

  it('refuses no input at all', () => {
    expectSentence(checkBatchInput(null), 'the input');
  });
});

describe('export inputs', () => {
  const ID = exportWorkflowId('acme', 'tickets', 'tickets_time');
  const valid = (): ExportInput => ({
    account: 'acme',
    resource: 'tickets',
    endpoint: 'tickets_time',
    start: { kind: 'time', startTime: 0 },
    options: { supportTypeScope: 'all' },
    destination: { kind: 'ndjson', dir: 'out' },
    budget: { requests: 10, seconds: 60 },
    coordinatorId: coordinatorWorkflowId('acme'),
  });

  it("takes a share's sequence number from its coordinator only: a start request's is not looked at", () => {
    expect(checkExportInput({ ...valid(), shareSeq: 5 }, ID)).toBeUndefined();
    expectSentence(checkExportInput({ ...valid(), shareSeq: -1 }, ID), 'shareSeq');
    expect(checkExportRequest({ ...valid(), shareSeq: 'anything' }, 'acme')).toBeUndefined();
  });

  it('accepts a well-formed input under its own workflow ID, with the state it carries', () => {
    expect(checkExportInput(valid(), ID)).toBeUndefined();
    const rules = new ExportRules(valid(), ID, Date.now());
    expect(checkExportInput(rules.carry(), ID)).toBeUndefined();
  });

  it.each([
    exportWorkflowId('other', 'tickets', 'tickets_time'),
    exportWorkflowId('acme', 'tickets', 'tickets_cursor'),
    coordinatorWorkflowId('acme'),
    `${ID}/extra`,
    '',
  ])('refuses to run under the workflow ID %j, which is not its own', (workflowId) => {
    expectSentence(checkExportInput(valid(), workflowId), /^the workflow ID .* is not the ID of this export \(zendesk-export\/acme\/tickets\/tickets_time\)$/);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a hostile account', { account: 'acme/../other' }, 'account'],
    ['an unknown resource', { resource: 'secrets' }, 'resource'],
    ['an unknown endpoint', { endpoint: 'admin' }, 'endpoint'],
    ['an endpoint that does not serve the resource', { endpoint: 'users_time' }, 'endpoint users_time does not export tickets'],
    ['a start of the wrong kind', { start: { kind: 'cursor', startTime: 0, cursor: null } }, 'start.next'],
    ['a start in milliseconds', { start: { kind: 'time', startTime: Date.now() } }, 'start.next.startTime'],
    ['a Postgres URL as target', { destination: { kind: 'postgres', target: 'postgres://u@h/db' } }, 'destination.target'],
    ['no budget', { budget: undefined }, 'budget'],
    ['a budget of 0', { budget: { requests: 0, seconds: 60 } }, 'budget.requests'],
    ['a budget window over a day', { budget: { requests: 10, seconds: 86_401 } }, 'budget.seconds'],
    ['a negative share', { share: -1 }, 'share'],
    ['send times that are not times', { initialSends: [Number.NaN] }, 'initialSends'],
    ['too many send times', { initialSends: Array<number>(1001).fill(1) }, 'initialSends'],
    ["another account's coordinator", { coordinatorId: coordinatorWorkflowId('other') }, 'coordinatorId'],
    ['a follow interval of 0', { followIntervalSeconds: 0 }, 'followIntervalSeconds'],
    ['0 pages', { maxPages: 0 }, 'maxPages'],
    ['a fractional page count per workflow run', { maxPagesPerRun: 1.5 }, 'maxPagesPerRun'],
    ['a state that is not an object', { state: 'resume' }, 'state'],
  ])('refuses %s', (_name, patch, field) => {
    const input = patched(valid(), patch) as Record<string, unknown>;
    // Under the ID the input itself names, so the check of each field is reached.
    const names = [input.account, input.resource, input.endpoint];
    const id = names.every((n) => typeof n === 'string') ? `zendesk-export/${names.join('/')}` : ID;
    expectSentence(checkExportInput(input, id), field);
  });

  it.each<[string, Record<string, unknown>]>([
    ['state.origin', { origin: 'x' }],
    ['state.at.endpoint', { at: { endpoint: 'organizations' } }],
    ['state.pace', { pace: { share: -1 } }],
    ['state.pace', { pace: { sent: ['x'] } }],
    ['state.pace.budget.requests', { pace: { budget: { requests: 1e9, seconds: 60 } } }],
    ['state.progress', { progress: { pages: -1 } }],
    ['state.notes', { notes: Array<string>(21).fill('n') }],
    ['state.notes', { notes: ['x'.repeat(1001)] }],
    ['state.paused', { paused: 'no' }],
  ])('refuses a carried state whose %s is not what an export carries', (field, patch) => {
    const carried = new ExportRules(valid(), ID, Date.now()).carry();
    expectSentence(checkExportInput({ ...carried, state: patched(carried.state, patch) }, ID), field);
  });
});

describe('coordinator inputs and signals', () => {
  it('runs a coordinator only under its own ID', () => {
    expect(checkCoordinatorInput({ account: 'acme' }, coordinatorWorkflowId('acme'))).toBeUndefined();
    expectSentence(checkCoordinatorInput({ account: 'acme' }, coordinatorWorkflowId('other')), 'the workflow ID');
    expectSentence(checkCoordinatorInput({ account: 'ACME' }, coordinatorWorkflowId('ACME')), 'account');
    expectSentence(checkCoordinatorInput({ account: 'acme', state: { budgets: {}, members: [] } }, coordinatorWorkflowId('acme')), 'state');
  });

  it("numbers shares after the last and never behind the clock; a carried number at most a few minutes ahead of it", () => {
    expect(nextShareSeq(0, 1_000.5)).toBe(1_000);
    expect(nextShareSeq(1_000, 1_000)).toBe(1_001);
    expect(nextShareSeq(5_000, 1_000)).toBe(5_001);
    const now = Date.now();
    const coordinator = (shareSeq: unknown) => checkCoordinatorInput({ account: 'acme', shareSeq }, coordinatorWorkflowId('acme'), now);
    expect(coordinator(now + 1000)).toBeUndefined();
    expect(coordinator(now + MAX_SHARE_SEQ_LEAD_MS)).toBeUndefined();
    for (const bad of [now + MAX_SHARE_SEQ_LEAD_MS + 1, Number.MAX_SAFE_INTEGER, -1, 1.5, '7']) expectSentence(coordinator(bad), 'shareSeq');
  });

  it('checks the share, budget and sends of a setShare', () => {
    expect(checkShareMessage(2, { requests: 10, seconds: 60 }, [1])).toBeUndefined();
    expect(checkShareMessage(0, { requests: 10, seconds: 60 }, undefined)).toBeUndefined();
    expectSentence(checkShareMessage(-1, { requests: 10, seconds: 60 }, []), 'share');
    expectSentence(checkShareMessage('2', { requests: 10, seconds: 60 }, []), 'share');
    expectSentence(checkShareMessage(2, { requests: 10, seconds: 60, extra: 1 }, []), 'budget');
    expectSentence(checkShareMessage(2, { requests: 10, seconds: 60 }, [-1]), 'sends');
  });

  it('checks budgets, buckets and send times from signals', () => {
    expect(checkBudget({ requests: 30, seconds: 60 })).toBeUndefined();
    expectSentence(checkBudget({ requests: '30', seconds: 60 }), 'budget.requests');
    expect(checkBucket('sample')).toBeUndefined();
    expectSentence(checkBucket('__proto__'), 'bucket');
    expect(checkSends(undefined, 'sends')).toBeUndefined();
    expectSentence(checkSends([-1], 'sends'), 'sends');
    expectSentence(checkSends([Infinity], 'sends'), 'sends');
  });
});

describe('one rule each, for client and worker', () => {
  it('takes a cursor only as Zendesk hands them out: printable ASCII, at most 2048 characters', () => {
    const at = (cursor: string) => ({ ...cursorAt, next: { kind: 'cursor', startTime: 0, cursor } });
    expect(checkPosition(at('MTcwMC4wfHwxfA=='), 'tickets')).toBeUndefined();
    expectSentence(checkPosition(at('has spaces'), 'tickets'), 'position.next.cursor');
    expectSentence(checkPosition(at('ünïcode'), 'tickets'), 'position.next.cursor');
  });

  it("refuses an export of another account at an account's coordinator, and ignores the coordinator a request names", () => {
    const input = { account: 'other', resource: 'tickets', endpoint: 'tickets_time', start: { kind: 'time', startTime: 0 }, destination: { kind: 'ndjson', dir: 'out' }, budget: { requests: 10, seconds: 60 } };
    expectSentence(checkExportRequest(input, 'acme'), 'account');
    expect(checkExportRequest({ ...input, account: 'acme', coordinatorId: coordinatorWorkflowId('acme') }, 'acme')).toBeUndefined();
    expect(checkExportRequest({ ...input, account: 'acme', coordinatorId: 'someone else' }, 'acme')).toBeUndefined();
  });

  it('refuses an input built to break the checker, with a sentence', () => {
    const cyclic: Record<string, unknown> = { account: 'acme', resource: 'tickets', endpoint: 'tickets_time' };
    Object.defineProperty(cyclic, 'start', { get: () => { throw new Error('boom'); }, enumerable: true });
    expectSentence(readable(() => checkExportInput(cyclic)), 'the input cannot be read');
  });
});

describe('one set of counts, reading the names of 0.2.1', () => {
  it('reads written (activity, heartbeat, checkpoint) and repeatsDropped (state) as records and repeats', () => {
    expect(countsOf({ pages: 2, written: 5, repeats: 1, sideloaded: 3 })).toEqual({ pages: 2, records: 5, repeats: 1, sideloaded: 3 });
    expect(withCounts({ pages: 2, records: 5, repeatsDropped: 4, sideloaded: 0, waitedMs: 7 })).toEqual({ pages: 2, records: 5, repeats: 4, sideloaded: 0, waitedMs: 7 });
  });

  it('takes the carried state and the heartbeat of a 0.2.1 export', () => {
    const ID = exportWorkflowId('acme', 'tickets', 'tickets_time');
    const input: ExportInput = { account: 'acme', resource: 'tickets', endpoint: 'tickets_time', start: { kind: 'time', startTime: 0 }, destination: { kind: 'ndjson', dir: 'out' }, budget: { requests: 10, seconds: 60 } };
    const carried = new ExportRules(input, ID, Date.now()).carry();
    const { repeats, ...progress } = { ...carried.state!.progress, repeats: 3 };
    const old = { ...carried, state: { ...carried.state!, progress: { ...progress, repeatsDropped: repeats } } } as unknown as ExportInput;
    expect(checkExportInput(old, ID)).toBeUndefined();
    expect(withCurrentCounts(old).state!.progress.repeats).toBe(3);
    const activity = { target: { account: 'acme', resource: 'tickets', options: {}, destination: { kind: 'ndjson', dir: 'out' }, exportId: ID, origin: carried.state!.origin }, at: timeAt, firstPage: 1, maxRequests: 5 } as BatchInput;
    const beat = { at: timeAt, pages: 2, written: 7, repeats: 0, sideloaded: 0, sentAt: [1, 2], notes: [] };
    expect(batchProgressOf(beat, activity)).toMatchObject({ pages: 2, records: 7 });
    expect(batchProgressOf({ ...beat, written: -1 }, activity)).toBeUndefined();
  });
});

describe('carried state, checked deeply', () => {
  const NOW = Date.parse('2026-06-01T00:00:00Z');
  const ID = exportWorkflowId('acme', 'tickets', 'tickets_time');
  const input = (): ExportInput => ({
    account: 'acme',
    resource: 'tickets',
    endpoint: 'tickets_time',
    start: { kind: 'time', startTime: 0 },
    destination: { kind: 'ndjson', dir: 'out' },
    budget: { requests: 10, seconds: 60 },
  });
  const carried = () => new ExportRules(input(), ID, NOW).carry();

  it('accepts the state an export carries, on its endpoint or its cursor endpoint', () => {
    expect(checkExportInput(carried(), ID, NOW)).toBeUndefined();
    expect(checkExportInput(patched(carried(), { state: { at: cursorAt } }), ID, NOW)).toBeUndefined();
  });

  it.each([
    [{ state: { pace: { notBefore: NOW + 100 * 365 * 86_400_000 } } }, 'state.pace.notBefore'],
    [{ state: { pace: { sent: [NOW + 86_400_000] } } }, 'state.pace.sent'],
    [{ state: { pace: { share: 11 } } }, 'state.pace.share'],
    [{ state: { pace: { budget: { requests: 10, seconds: 60, extra: 1 } } } }, 'state.pace.budget'],
    [{ state: { status: 'hacked' } }, 'state.status'],
    [{ state: { progress: { pages: -1 } } }, 'state.progress'],
    [{ state: { progress: { endOfStreamAt: 'soon' } } }, 'state.progress.endOfStreamAt'],
    [{ state: { retry: { since: NOW + 1, attempts: 1, type: 'x', message: 'y' } } }, 'state.retry'],
    [{ state: { error: { message: 'not text' } } }, 'state.error'],
    [{ state: { owner: 'someone' } }, 'state has fields'],
    [{ state: { at: { ...timeAt, endpoint: 'sample' } } }, 'state.at.endpoint'],
  ])('refuses a poisoned export state %#, naming the field', (patch, field) => {
    expectSentence(checkExportInput(patched(carried(), patch), ID, NOW), field);
  });

  it('names the field of the carried state that is wrong', () => {
    expect(checkExportInput(patched(carried(), { state: { pace: { share: 11 } } }), ID, NOW)).toEqual({ field: 'state.pace.share', problem: 'is not a number of requests within its budget' });
    expect(checkExportInput({ ...carried(), state: 'x' }, ID, NOW)).toEqual({ field: 'state', problem: 'is not an object' });
  });

  const member = { bucket: 'incremental-exports', share: 10, joined: 0 };
  const state = (extra: Record<string, unknown> = {}) => ({ budgets: { 'incremental-exports': { requests: 10, seconds: 60 } }, members: { [ID]: member }, released: { 'incremental-exports': [NOW - 1000] }, joins: 1, ...extra });

  it("accepts a coordinator's state, and refuses any entry its rules could not read", () => {
    const coordinator = (s: unknown) => checkCoordinatorInput({ account: 'acme', state: s }, coordinatorWorkflowId('acme'), NOW);
    expect(coordinator(state())).toBeUndefined();
    expectSentence(coordinator(state({ members: { [ID]: null } })), 'state.members');
    expectSentence(coordinator(state({ members: { [exportWorkflowId('other', 'tickets', 'tickets_time')]: member } })), 'state.members');
    expectSentence(coordinator(state({ members: { [ID]: { ...member, bucket: 'sample' } } })), 'state.members');
    expectSentence(coordinator(state({ members: { [ID]: { ...member, joined: 5 } } })), 'state.members');
    expectSentence(coordinator(state({ budgets: { nope: { requests: 1, seconds: 1 } } })), 'state.budgets');
    expectSentence(coordinator(state({ budgets: { sample: { requests: 1e9, seconds: 1 } } })), 'state.budgets.sample.requests');
    expectSentence(coordinator(state({ released: { 'incremental-exports': [NOW + 86_400_000] } })), 'state.released');
    expectSentence(coordinator(state({ joins: -1 })), 'state.joins');
    expectSentence(coordinator(state({ extra: true })), 'state is not');
  });
});
