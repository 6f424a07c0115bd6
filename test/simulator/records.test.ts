/**
 * Records shaped as Zendesk's: the documented fields in Zendesk's order, nothing invented, and a few
 * values that re-serialising JSON would change, served byte for byte as `expectedText` gives them.
 */
import { startSimulator, type Simulator } from '../../simulator';
import { RawJson, jsonText } from '../../simulator/json-text';
import { get, path } from './helpers';

/** Zendesk's ticket fields (Tickets API JSON format, recorded answers), in served order. */
const TICKET_FIELDS = [
  'url', 'id', 'external_id', 'via', 'created_at', 'updated_at', 'generated_timestamp', 'type', 'subject', 'raw_subject', 'description',
  'priority', 'status', 'recipient', 'requester_id', 'submitter_id', 'assignee_id', 'organization_id', 'group_id', 'collaborator_ids',
  'follower_ids', 'email_cc_ids', 'forum_topic_id', 'problem_id', 'has_incidents', 'is_public', 'due_at', 'tags', 'custom_fields',
  'satisfaction_rating', 'sharing_agreement_ids', 'custom_status_id', 'encoded_id', 'fields', 'followup_ids', 'ticket_form_id', 'brand_id',
  'allow_channelback', 'allow_attachments', 'from_messaging_channel',
];
/** Zendesk's user fields (Users JSON format, recorded answers), in served order. */
const USER_FIELDS = [
  'id', 'url', 'name', 'email', 'created_at', 'updated_at', 'time_zone', 'iana_time_zone', 'phone', 'shared_phone_number', 'photo',
  'locale_id', 'locale', 'organization_id', 'role', 'verified', 'external_id', 'tags', 'alias', 'active', 'shared', 'shared_agent',
  'last_login_at', 'two_factor_auth_enabled', 'signature', 'details', 'notes', 'role_type', 'custom_role_id', 'moderator',
  'ticket_restriction', 'only_private_comments', 'restricted_agent', 'suspended', 'chat_only', 'default_group_id', 'report_csv', 'user_fields',
];
/** Zendesk's organization fields (Organizations JSON format, a recorded answer), in served order. */
const ORGANIZATION_FIELDS = [
  'url', 'id', 'name', 'shared_tickets', 'shared_comments', 'external_id', 'created_at', 'updated_at', 'domain_names', 'details', 'notes',
  'group_id', 'tags', 'organization_fields',
];

const SIZES = { tickets: 400, users: 400, organizations: 400, ticket_events: 50 };
let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ seed: 9, sizes: SIZES, recentWindowSeconds: 0, rateLimits: 'off' });
});
afterAll(async () => {
  await sim?.close();
});

const all = { supportTypeScope: 'all' } as const;
/** The values only exact text keeps: a decimal `1.0`, an integer above 2^53, `\u00e9`-style and `\/` escapes. */
const PECULIAR = [/:1\.0[,}]/, /:9007199254\d{6}[,}]/, /\\u00[0-9a-f]{2}/, /\\\//];

test.each([
  ['tickets', TICKET_FIELDS],
  ['users', USER_FIELDS],
  ['organizations', ORGANIZATION_FIELDS],
] as const)('%s carry the documented fields, in order, and nothing else', (resource, fields) => {
  for (const record of sim.expected(undefined, resource, all)) expect(Object.keys(record)).toEqual(fields);
});

test('tickets and users have at least 38 fields, as real ones (~39 and ~38); no invented marker of AI-agent tickets', () => {
  expect(TICKET_FIELDS.length).toBeGreaterThanOrEqual(38);
  expect(USER_FIELDS.length).toBeGreaterThanOrEqual(38);
  const tickets = sim.expected(undefined, 'tickets', all);
  expect(tickets.some((t) => 'support_type' in t)).toBe(false);
  expect(tickets.some((t) => t.status === 'deleted')).toBe(true);
  expect(new Set(tickets.map((t) => typeof t.generated_timestamp))).toEqual(new Set(['number']));
});

describe('values that re-serialising JSON would change', () => {
  const peculiar = (texts: string[]) => texts.filter((t) => PECULIAR.every((p) => p.test(t)));

  test.each(['tickets', 'users', 'organizations'] as const)('%s: a small share carries all four, and parsing then writing changes them', (resource) => {
    const texts = sim.expectedText(undefined, resource, all);
    const odd = peculiar(texts);
    expect(odd.length).toBeGreaterThan(0);
    expect(odd.length / texts.length).toBeLessThan(0.15);
    for (const text of odd) expect(JSON.stringify(JSON.parse(text))).not.toBe(text);
    // The others survive a round trip unchanged.
    for (const text of texts.filter((t) => !odd.includes(t))) expect(JSON.stringify(JSON.parse(text))).toBe(text);
  });

  test('served byte for byte: each record of a page is the exact text expectedText gives', async () => {
    const reply = await get(path(sim, '/api/v2/incremental/tickets/cursor', { start_time: 0, per_page: 1000, support_type_scope: 'all' }));
    const texts = sim.expectedText(undefined, 'tickets', all);
    expect(reply.text.startsWith(`{"tickets":[${texts.join(',')}],`)).toBe(true);
    const odd = peculiar(texts)[0]!;
    expect(odd).toMatch(/"value":1\.0\}/);
    expect(odd).toMatch(/"description":"Caf\\u00e9 order \d+\\\/A: the printer is on fire\."/);
    // expected() is what a client reads: 1.0 as 1, the big integer rounded to a double, the escapes decoded.
    const parsed = sim.expected(undefined, 'tickets', all).find((t) => t.id === (JSON.parse(odd) as { id: number }).id)!;
    const fields = parsed.custom_fields as { id: number; value: unknown }[];
    expect(fields[1]!.value).toBe(1);
    expect(Number.isSafeInteger(fields[2]!.value)).toBe(false);
    expect(odd).not.toContain(`"value":${String(fields[2]!.value)}`);
    expect(String(parsed.description)).toMatch(/^Café order \d+\/A/);
  });

  test('the oracle and the served text agree: expected() is the parse of expectedText()', () => {
    for (const resource of ['tickets', 'users', 'organizations', 'ticket_events'] as const) {
      expect(sim.expectedText(undefined, resource, all).map((t) => JSON.parse(t) as unknown)).toEqual(sim.expected(undefined, resource, all));
    }
  });
});

test('the same seed gives the same text, byte for byte', async () => {
  const options = { seed: 9, sizes: SIZES, recentWindowSeconds: 0, rateLimits: 'off', endTime: 1_700_000_000 } as const;
  const [a, b] = await Promise.all([startSimulator(options), startSimulator(options)]);
  try {
    for (const resource of ['tickets', 'users', 'organizations', 'ticket_events'] as const) {
      expect(a.expectedText(undefined, resource, all)).toEqual(b.expectedText(undefined, resource, all));
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('jsonText writes RawJson leaves as given and everything else as JSON.stringify does', () => {
  const value = { a: new RawJson('1.0'), b: [new RawJson('"caf\\u00e9"'), 2, 'x/y'], c: { d: new RawJson('12345678901234567891') }, e: null };
  expect(jsonText(value)).toBe('{"a":1.0,"b":["caf\\u00e9",2,"x/y"],"c":{"d":12345678901234567891},"e":null}');
  expect(jsonText({ plain: ['\uE001', 'é'] })).toBe(JSON.stringify({ plain: ['\uE001', 'é'] }));
  // A shared leaf is written wherever it appears.
  const shared = new RawJson('1.0');
  expect(jsonText([shared, { x: shared }])).toBe('[1.0,{"x":1.0}]');
});
