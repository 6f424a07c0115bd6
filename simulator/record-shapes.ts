/**
 * The fields of each record as Zendesk serves them, in Zendesk's order: tickets (40 fields), users (38)
 * and organizations (14) follow the documented JSON formats and recorded answers; ticket events follow
 * peers' schemas (the official spec types them wrongly). Pure: every value follows from the facts given.
 *
 * A small share of records is "peculiar": it carries values that a client which parses and re-writes
 * records would change (a decimal written `1.0`, an id-like integer above 2^53, `\u00e9` and `\/`
 * escapes), so that such a client is caught by a byte-exact comparison.
 */
import { RawJson } from './json-text';

/** What every version of a record has, whatever the resource. */
export interface VersionFacts {
  id: number;
  /** The subdomain: `https://{account}.zendesk.com`. */
  account: string;
  /** The version second. */
  second: number;
  /** Changes made at run time so far. */
  revision: number;
  created: number;
  peculiar: boolean;
}

export interface TicketFacts extends VersionFacts {
  /** Older than `second` when the version came from a system update. */
  updated: number;
  /** Handled by an AI agent: served from a messaging channel. */
  ai: boolean;
  deleted: boolean;
  requester: number | null;
  assignee: number | null;
  organization: number | null;
  group: number;
}

export type UserRole = 'admin' | 'agent' | 'end-user';

export interface UserFacts extends VersionFacts {
  role: UserRole;
  /** false: the user was deleted. */
  active: boolean;
  organization: number | null;
  group: number | null;
}

export interface OrganizationFacts extends VersionFacts {
  group: number | null;
}

export interface TicketEventFacts {
  id: number;
  ticketId: number;
  second: number;
  revision: number;
  updater: number | null;
  hasComment: boolean;
  /** include=comment_events: the comment joins the child events. */
  commentEvents: boolean;
}

/** `2026-11-28T10:00:00Z` from epoch seconds; the date part is cached per day (a hot path when streaming millions). */
const days = new Map<number, string>();
const pad = (n: number) => (n < 10 ? `0${n}` : String(n));
export function iso(second: number): string {
  const day = Math.floor(second / 86_400);
  let date = days.get(day);
  if (date === undefined) {
    date = new Date(day * 86_400_000).toISOString().slice(0, 10);
    if (days.size > 100_000) days.clear();
    days.set(day, date);
  }
  const t = second - day * 86_400;
  return `${date}T${pad(Math.floor(t / 3600))}:${pad(Math.floor(t / 60) % 60)}:${pad(t % 60)}Z`;
}

/** A decimal written `1.0`: a parser reads 1 and writes it back as `1`. */
const DECIMAL_ONE = new RawJson('1.0');
/** An id-like integer above 2^53, odd so that no double holds it: a parser rounds it. */
const bigId = (id: number) => new RawJson((9_007_199_254_740_993n + 2n * BigInt(id)).toString());
/** Text written with `\u00e9`-style escapes for non-ASCII and `\/` for /, as some servers write it; a serialiser writes neither. */
export const escapedText = (text: string) =>
  new RawJson(JSON.stringify(text).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).replace(/\//g, '\\/'));

const api = (f: VersionFacts) => `https://${f.account}.zendesk.com/api/v2`;
const revised = (f: VersionFacts) => (f.revision ? ` (revision ${f.revision})` : '');

const STATUSES = ['new', 'open', 'pending', 'hold', 'solved', 'closed'] as const;
/** Every status has a custom status of its own in accounts since 2023. */
const CUSTOM_STATUS_IDS: Record<(typeof STATUSES)[number], number> = {
  new: 21334256240701, open: 21334256240781, pending: 21334256240861, hold: 21334256240941, solved: 21334256241021, closed: 21334256241101,
};
const TICKET_FIELDS = { category: 360000000001, hours: 360000000002, crmRecord: 360000000003 } as const;
const TICKET_FORM_ID = 360000167951;
const BRAND_ID = 360001440531;

/** A short public ticket code, a string (seen in newer ticket payloads). */
function encodedId(id: number): string {
  const code = (n: number, width: number) => n.toString(36).toUpperCase().padStart(width, '0').slice(-width);
  return `${code(Math.imul(id, 0x9e3779b1) >>> 0, 6)}-${code(Math.imul(id ^ 0x5bd1e995, 0x85ebca6b) >>> 0, 4)}`;
}

export function ticketShape(f: TicketFacts): Record<string, unknown> {
  const { id } = f;
  const status = STATUSES[(id + f.revision) % STATUSES.length]!;
  const type = (['question', 'incident', 'problem', 'task'] as const)[id % 4]!;
  const channel = f.ai ? 'native_messaging' : id % 2 ? 'email' : 'web';
  const customFields = [
    { id: TICKET_FIELDS.category, value: `category_${id % 3}` },
    { id: TICKET_FIELDS.hours, value: f.peculiar ? DECIMAL_ONE : (id % 8) / 2 },
    { id: TICKET_FIELDS.crmRecord, value: f.peculiar ? bigId(id) : null },
  ];
  return {
    url: `${api(f)}/tickets/${id}.json`,
    id,
    external_id: null,
    via: { channel, source: { from: {}, to: {}, rel: null } },
    created_at: iso(f.created),
    updated_at: iso(f.updated),
    generated_timestamp: f.second,
    type,
    subject: `Ticket ${id} subject${revised(f)}`,
    raw_subject: `Ticket ${id} subject${revised(f)}`,
    description: f.peculiar ? escapedText(`Café order ${id}/A: the printer is on fire.`) : `Description of ticket ${id}.`,
    priority: (['low', 'normal', 'high', 'urgent'] as const)[(id + f.revision) % 4],
    // Deleted tickets stay in the export stream with this status (absent from the official enum).
    status: f.deleted ? 'deleted' : status,
    recipient: channel === 'email' ? `support@${f.account}.zendesk.com` : null,
    requester_id: f.requester,
    submitter_id: f.requester,
    assignee_id: f.assignee,
    organization_id: f.organization,
    group_id: f.group,
    collaborator_ids: [],
    follower_ids: [],
    email_cc_ids: [],
    forum_topic_id: null,
    problem_id: null,
    has_incidents: false,
    is_public: true,
    due_at: type === 'task' ? iso(f.created + 7 * 86_400) : null,
    tags: [`tag${id % 10}`, ...(f.revision ? [`rev${f.revision}`] : [])],
    custom_fields: customFields,
    satisfaction_rating: null,
    sharing_agreement_ids: [],
    custom_status_id: CUSTOM_STATUS_IDS[status],
    encoded_id: encodedId(id),
    // Zendesk repeats the custom field values under `fields`.
    fields: customFields,
    followup_ids: [],
    ticket_form_id: TICKET_FORM_ID,
    brand_id: BRAND_ID,
    allow_channelback: false,
    allow_attachments: true,
    from_messaging_channel: f.ai,
  };
}

const TIME_ZONES = [
  ['UTC', 'Etc/UTC'],
  ['Berlin', 'Europe/Berlin'],
  ['Eastern Time (US & Canada)', 'America/New_York'],
  ['Tokyo', 'Asia/Tokyo'],
] as const;
const LOCALES = [
  ['en-US', 1],
  ['es-419', 1194],
] as const;

export function userShape(f: UserFacts): Record<string, unknown> {
  const { id } = f;
  const staff = f.role !== 'end-user';
  const [timeZone, iana] = TIME_ZONES[id % TIME_ZONES.length]!;
  const [locale, localeId] = LOCALES[id % 7 === 0 ? 1 : 0];
  return {
    id,
    url: `${api(f)}/users/${id}.json`,
    name: `User ${id}${revised(f)}`,
    email: `user${id}@example.com`,
    created_at: iso(f.created),
    updated_at: iso(f.second),
    time_zone: timeZone,
    iana_time_zone: iana,
    phone: null,
    shared_phone_number: null,
    photo: null,
    locale_id: localeId,
    locale,
    organization_id: f.organization,
    role: f.role,
    verified: true,
    external_id: null,
    tags: [],
    alias: null,
    // A deleted user stays in the export with active: false.
    active: f.active,
    shared: false,
    shared_agent: false,
    last_login_at: staff ? iso(f.second) : null,
    two_factor_auth_enabled: false,
    signature: staff ? '' : null,
    details: '',
    notes: f.peculiar ? escapedText(`Prefers caf\u00e9 meetings, 9/5.`) : '',
    role_type: f.role === 'admin' ? 4 : null,
    custom_role_id: null,
    moderator: f.role === 'admin',
    ticket_restriction: staff ? null : 'requested',
    only_private_comments: false,
    restricted_agent: !staff,
    suspended: false,
    chat_only: false,
    default_group_id: f.role === 'agent' ? f.group : null,
    report_csv: f.role === 'admin',
    user_fields: { plan: `plan_${id % 3}`, seats: f.peculiar ? DECIMAL_ONE : id % 50, crm_record: f.peculiar ? bigId(id) : null },
  };
}

export function organizationShape(f: OrganizationFacts): Record<string, unknown> {
  const { id } = f;
  return {
    url: `${api(f)}/organizations/${id}.json`,
    id,
    name: `Organization ${id}${revised(f)}`,
    shared_tickets: id % 4 === 0,
    shared_comments: id % 8 === 0,
    external_id: null,
    created_at: iso(f.created),
    updated_at: iso(f.second),
    domain_names: [`org${id}.example.com`],
    details: f.peculiar ? escapedText(`Rue de l'\u00c9glise 4/6`) : '',
    notes: '',
    group_id: f.group,
    tags: [],
    organization_fields: { region: `region_${id % 4}`, discount: f.peculiar ? DECIMAL_ONE : (id % 10) / 4, crm_record: f.peculiar ? bigId(id) : null },
  };
}

/** Shaped as peers' schemas show real events (TAP, Airbyte): `via` a string, comments as flags unless included. */
export function ticketEventShape(f: TicketEventFacts): Record<string, unknown> {
  const { id } = f;
  const isPublic = id % 3 !== 0;
  const via = id % 2 ? 'Web form' : 'Mail';
  const children: Record<string, unknown>[] = [
    {
      id: id * 10 + 1,
      event_type: 'Change',
      via,
      via_reference_id: null,
      status: (['open', 'pending', 'solved'] as const)[(id + f.revision) % 3],
      priority: id % 4 === 0 ? 'high' : null,
      ...(id % 5 === 0 ? { added_tags: [`tag${id % 10}`], removed_tags: [] } : {}),
      comment_present: f.hasComment,
      comment_public: f.hasComment && isPublic,
    },
  ];
  if (f.commentEvents && f.hasComment) {
    children.push({
      id: id * 10 + 2,
      type: 'Comment',
      event_type: 'Comment',
      via: { channel: id % 2 ? 'web' : 'email', source: { from: {}, to: {}, rel: null } },
      via_reference_id: null,
      author_id: f.updater,
      body: `Comment on ticket ${f.ticketId}, event ${id}.`,
      html_body: `<div class="zd-comment"><p dir="auto">Comment on ticket ${f.ticketId}, event ${id}.</p></div>`,
      public: isPublic,
      attachments: [],
      audit_id: id,
      created_at: iso(f.second),
    });
  }
  return {
    id,
    ticket_id: f.ticketId,
    timestamp: f.second,
    created_at: iso(f.second),
    updater_id: f.updater,
    via,
    system: { client: 'Mozilla/5.0', ip_address: '192.0.2.1', location: 'Berlin, Germany', latitude: 52.5, longitude: 13.4 },
    event_type: 'Audit',
    child_events: children,
  };
}

export const groupShape = (account: string, id: number, second: number): Record<string, unknown> => ({
  url: `https://${account}.zendesk.com/api/v2/groups/${id}.json`, id, name: `Group ${id}`, deleted: false, created_at: iso(second), updated_at: iso(second),
});

export const identityShape = (account: string, userId: number): Record<string, unknown> => ({
  url: `https://${account}.zendesk.com/api/v2/users/${userId}/identities/${userId * 100}.json`, id: userId * 100, user_id: userId, type: 'email', value: `user${userId}@example.com`, verified: true, primary: true,
});

/**
 * A ticket's metric set (the `metric_sets` sideload), with the fields of Zendesk's Ticket Metrics object
 * in its order; durations in minutes, inside and outside business hours. A ticket not yet solved has no
 * resolution time and no solved_at; every seventh has had no reply.
 */
export function metricSetShape(account: string, ticketId: number, created: number, updated: number, solved: boolean): Record<string, unknown> {
  const id = ticketId + 500_000_000;
  const minutes = (calendar: number | null) => ({ calendar, business: calendar === null ? null : Math.floor(calendar / 3) });
  const open = Math.max(0, Math.floor((updated - created) / 60));
  const replied = ticketId % 7 !== 0;
  return {
    url: `https://${account}.zendesk.com/api/v2/ticket_metrics/${id}.json`, id, ticket_id: ticketId, created_at: iso(created), updated_at: iso(updated),
    group_stations: 1, assignee_stations: 1, reopens: ticketId % 3, replies: replied ? 1 + (ticketId % 5) : 0,
    assignee_updated_at: iso(updated), requester_updated_at: iso(created), status_updated_at: iso(updated),
    initially_assigned_at: iso(created + 60), assigned_at: iso(created + 60), solved_at: solved ? iso(updated) : null, latest_comment_added_at: iso(updated),
    reply_time_in_minutes: minutes(replied ? 1 + (ticketId % 240) : null),
    first_resolution_time_in_minutes: minutes(solved ? open : null),
    full_resolution_time_in_minutes: minutes(solved ? open : null),
    agent_wait_time_in_minutes: minutes(ticketId % 4 === 0 ? 30 : 0),
    requester_wait_time_in_minutes: minutes(solved ? Math.floor(open / 2) : null),
    on_hold_time_in_minutes: minutes(0),
  };
}
