/**
 * A simulated account's records, deterministic from a seed and compact enough for a million per
 * resource. Only the (version second, id) order is stored, as one sorted Float64Array of keys per
 * resource; every record is generated from (seed, id, version, revision) when it is served. Records
 * changed or added at run time (a live account) live in a small sorted overlay.
 */
import { RESOURCES, type Resource } from '../zendesk/endpoints';

/** A position in a resource's (version second, id) order. */
export interface Entry {
  second: number;
  id: number;
}

export interface AccountDataOptions {
  seed: number;
  /** Records per resource. Ticket events: the total, unless `eventsPerTicket` is set. */
  sizes: Record<Resource, number>;
  /** Ticket events per ticket; overrides `sizes.ticket_events` when set. */
  eventsPerTicket?: number;
  /** This many records of each resource (the first ids) share one version second: a bulk update. */
  sameSecond: number;
  /** Versions are spread over [endSecond - spanSeconds, endSecond). */
  spanSeconds: number;
  endSecond: number;
}

/** Keys are offset * ID_SPACE + id: exact in a double for spans up to 2^28 s and ids below 2^24. */
const ID_SPACE = 2 ** 24;
export const MAX_SPAN_SECONDS = 2 ** 28;
export const MAX_RECORDS = ID_SPACE - 1;

/** Shares of records with a property; chosen per id from the seed. */
const AI_SHARE = 0.15;
const DELETED_TICKET_SHARE = 0.06;
const INACTIVE_USER_SHARE = 0.05;
const DELETED_ORG_SHARE = 0.04;
const AGENT_EVERY = 10; // Users 1, 11, 21, ... are agents; user 1 is the admin.
const GROUPS = 8;

/** 32-bit avalanche mix (murmur3 finaliser). */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A number in [0, 1) fixed by (seed, salt, id): records come out the same in any order. */
export function unit(seed: number, salt: number, id: number): number {
  return mix(mix(seed ^ Math.imul(salt + 1, 0x9e3779b1)) ^ id) / 2 ** 32;
}

const SALT = { second: 1, ai: 2, deleted: 3, inactive: 4, orgDeleted: 5, pick: 6, comment: 7, created: 8, stale: 9, agent: 10 } as const;
const RESOURCE_SALT: Record<Resource, number> = { tickets: 100, users: 200, organizations: 300, ticket_events: 400 };

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

const before = (a: Entry, b: Entry) => a.second < b.second || (a.second === b.second && a.id < b.id);

/** One resource's versions: the sorted generated base plus the overlay of run-time changes. */
class Versions {
  readonly keys: Float64Array;
  /** Current version second of ids changed or added at run time. */
  readonly moved = new Map<number, number>();
  readonly revisions = new Map<number, number>();
  /** Creation second of records added at run time. */
  readonly born = new Map<number, number>();
  /** The overlay, sorted by (second, id); one entry per changed id. */
  readonly overlay: Entry[] = [];
  nextId: number;

  constructor(
    readonly size: number,
    private readonly baseSecondOf: (id: number) => number,
    private readonly origin: number,
  ) {
    this.keys = new Float64Array(size);
    for (let id = 1; id <= size; id++) this.keys[id - 1] = (baseSecondOf(id) - origin) * ID_SPACE + id;
    this.keys.sort(); // Typed-array sort is numeric.
    this.nextId = size + 1;
  }

  /** The version generated from the seed, before any run-time change. */
  generatedSecond(id: number): number | undefined {
    return id >= 1 && id <= this.size ? this.baseSecondOf(id) : undefined;
  }

  secondOf(id: number): number | undefined {
    return this.moved.get(id) ?? this.generatedSecond(id);
  }

  /** Current versions in order: at or after `second` (inclusive), or strictly after (second, afterId). */
  *from(second: number, afterId?: number): Generator<Entry> {
    const target = (second - this.origin) * ID_SPACE + (afterId ?? 0);
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keys[mid]!;
      if (afterId === undefined ? k < target : k <= target) lo = mid + 1;
      else hi = mid;
    }
    const start: Entry = { second, id: afterId ?? 0 };
    let j = 0;
    while (j < this.overlay.length && (afterId === undefined ? before(this.overlay[j]!, start) : !before(start, this.overlay[j]!))) j++;
    let i = lo;
    while (i < this.keys.length || j < this.overlay.length) {
      let base: Entry | undefined;
      if (i < this.keys.length) {
        const k = this.keys[i]!;
        base = { second: this.origin + Math.floor(k / ID_SPACE), id: k % ID_SPACE };
      }
      const extra = this.overlay[j];
      if (base && (!extra || before(base, extra))) {
        i++;
        if (!this.moved.has(base.id)) yield base; // A changed record lives on in the overlay only.
      } else if (extra) {
        j++;
        yield extra;
      }
    }
  }

  /** A new version of `id` stamped `second`; a second change in the same second keeps one entry. */
  touch(id: number, second: number): void {
    const old = this.moved.get(id);
    if (old !== undefined) {
      const at = this.overlay.findIndex((e) => e.id === id && e.second === old);
      if (at >= 0) this.overlay.splice(at, 1);
    }
    const entry = { second, id };
    let at = this.overlay.length;
    while (at > 0 && before(entry, this.overlay[at - 1]!)) at--;
    this.overlay.splice(at, 0, entry);
    this.moved.set(id, second);
    this.revisions.set(id, (this.revisions.get(id) ?? 0) + 1);
  }
}

export class AccountData {
  private readonly versions: Record<Resource, Versions>;
  private readonly seed: number;
  readonly origin: number;

  constructor(
    readonly name: string,
    private readonly options: AccountDataOptions,
  ) {
    this.seed = options.seed >>> 0;
    const span = Math.max(1, Math.min(Math.floor(options.spanSeconds), MAX_SPAN_SECONDS));
    this.origin = Math.max(0, Math.floor(options.endSecond) - span);
    const bulkSecond = this.origin + Math.floor(span / 2);
    const sizes = { ...options.sizes };
    if (options.eventsPerTicket !== undefined) sizes.ticket_events = sizes.tickets * options.eventsPerTicket;
    for (const r of RESOURCES) {
      if (!Number.isInteger(sizes[r]) || sizes[r] < 0 || sizes[r] > MAX_RECORDS) throw new RangeError(`${r}: size must be an integer 0..${MAX_RECORDS}`);
    }
    const make = (r: Resource) =>
      new Versions(
        sizes[r],
        (id) => (id <= options.sameSecond ? bulkSecond : this.origin + Math.floor(unit(this.seed, RESOURCE_SALT[r] + SALT.second, id) * span)),
        this.origin,
      );
    this.versions = { tickets: make('tickets'), users: make('users'), organizations: make('organizations'), ticket_events: make('ticket_events') };
  }

  /** Records of the resource, current versions only, in (second, id) order. */
  entries(resource: Resource, second: number, afterId?: number): Generator<Entry> {
    return this.versions[resource].from(second, afterId);
  }

  count(resource: Resource): number {
    return this.versions[resource].nextId - 1;
  }

  /** A new version of a record stamped `second`; throws for an id the account does not have. */
  update(resource: Resource, id: number, second: number): void {
    const v = this.versions[resource];
    if (!Number.isInteger(id) || v.secondOf(id) === undefined) throw new RangeError(`${resource} ${id} does not exist`);
    v.touch(id, second);
  }

  add(resource: Resource, second: number): number {
    const v = this.versions[resource];
    if (v.nextId > MAX_RECORDS) throw new RangeError(`${resource}: at most ${MAX_RECORDS} records`);
    const id = v.nextId++;
    v.born.set(id, second);
    v.touch(id, second);
    return id;
  }

  private chance(salt: number, id: number, share: number): boolean {
    return unit(this.seed, salt, id) < share;
  }

  /** Tickets handled by AI agents: left out under Zendesk's default `support_type_scope=agent`. */
  isAiTicket(ticketId: number): boolean {
    return this.chance(SALT.ai, ticketId, AI_SHARE);
  }

  isDeletedTicket(ticketId: number): boolean {
    return this.chance(SALT.deleted, ticketId, DELETED_TICKET_SHARE);
  }

  /** Events are spread round robin over the tickets (or `eventsPerTicket` in a row). */
  ticketOfEvent(eventId: number): number {
    const tickets = Math.max(1, this.versions.tickets.size);
    const per = this.options.eventsPerTicket;
    return per ? Math.min(tickets, Math.floor((eventId - 1) / per) + 1) : ((eventId - 1) % tickets) + 1;
  }

  /** Whether a record passes a request's scope and deletion filters. */
  visible(resource: Resource, id: number, scope: 'all' | 'agent' | 'ai_agent', excludeDeleted: boolean): boolean {
    if (resource === 'tickets' || resource === 'ticket_events') {
      const ticketId = resource === 'tickets' ? id : this.ticketOfEvent(id);
      const ai = this.isAiTicket(ticketId);
      if ((scope === 'agent' && ai) || (scope === 'ai_agent' && !ai)) return false;
    }
    return !(excludeDeleted && resource === 'tickets' && this.isDeletedTicket(id));
  }

  /** A related id in 1..count of the generated records, or null when the account has none. */
  private pick(resource: Resource, id: number, salt: number): number | null {
    const n = this.versions[resource].size;
    return n ? 1 + Math.floor(unit(this.seed, SALT.pick * 16 + salt, id) * n) : null;
  }

  private agentFor(id: number): number | null {
    const agents = Math.ceil(this.versions.users.size / AGENT_EVERY);
    return agents ? 1 + AGENT_EVERY * Math.floor(unit(this.seed, SALT.agent, id) * agents) : null;
  }

  /** When a record was created: before its generated version, the same in every later version. */
  private createdSecond(resource: Resource, id: number): number {
    const v = this.versions[resource];
    const born = v.born.get(id);
    if (born !== undefined) return born;
    return (v.generatedSecond(id) ?? this.origin) - Math.floor(unit(this.seed, SALT.created, id) * 90 * 86_400);
  }

  /** The current version of a record as the API serves it; undefined for an unknown id. */
  record(resource: Resource, id: number, options: { commentEvents?: boolean } = {}): Record<string, unknown> | undefined {
    const v = this.versions[resource];
    const second = v.secondOf(id);
    if (second === undefined) return undefined;
    const revision = v.revisions.get(id) ?? 0;
    const created = this.createdSecond(resource, id);
    const host = `https://${this.name}.zendesk.com/api/v2`;
    const suffix = revision ? ` (revision ${revision})` : '';
    switch (resource) {
      case 'tickets': {
        const ai = this.isAiTicket(id);
        const requester = this.pick('users', id, 1);
        // A quarter of the versions come from a system update: generated_timestamp moved, updated_at did not.
        const system = unit(this.seed, SALT.stale, id + revision * 7919) < 0.25;
        const updated = Math.max(created, system ? second - 1 - Math.floor(unit(this.seed, SALT.stale, id) * 7200) : second);
        const statuses = ['new', 'open', 'pending', 'hold', 'solved', 'closed'] as const;
        return {
          url: `${host}/tickets/${id}.json`,
          id,
          external_id: null,
          via: { channel: ai ? 'api' : id % 2 ? 'email' : 'web', source: { from: {}, to: {}, rel: null } },
          created_at: iso(created),
          updated_at: iso(updated),
          generated_timestamp: second,
          type: id % 3 ? 'question' : 'incident',
          subject: `Ticket ${id} subject${suffix}`,
          raw_subject: `Ticket ${id} subject${suffix}`,
          description: `Description of ticket ${id}.`,
          priority: (['low', 'normal', 'high', 'urgent'] as const)[(id + revision) % 4],
          status: this.isDeletedTicket(id) ? 'deleted' : statuses[(id + revision) % statuses.length],
          requester_id: requester,
          submitter_id: requester,
          assignee_id: this.agentFor(id),
          organization_id: this.pick('organizations', id, 2),
          group_id: 1 + (id % GROUPS),
          tags: [`tag${id % 10}`, ...(revision ? [`rev${revision}`] : [])],
          custom_fields: [{ id: 360000000001, value: `v${id % 3}` }],
          from_messaging_channel: ai,
          // The marker support_type_scope filters on.
          support_type: ai ? 'ai_agent' : 'agent',
        };
      }
      case 'users':
        return {
          id,
          url: `${host}/users/${id}.json`,
          name: `User ${id}${suffix}`,
          email: `user${id}@example.com`,
          role: id === 1 ? 'admin' : id % AGENT_EVERY === 1 ? 'agent' : 'end-user',
          // Deleted users stay in the export with active: false.
          active: !this.chance(SALT.inactive, id, INACTIVE_USER_SHARE),
          created_at: iso(created),
          updated_at: iso(second),
          organization_id: this.pick('organizations', id, 3),
          time_zone: 'UTC',
          locale: 'en-US',
        };
      case 'organizations':
        return {
          id,
          url: `${host}/organizations/${id}.json`,
          name: `Organization ${id}${suffix}`,
          domain_names: [`org${id}.example.com`],
          created_at: iso(created),
          updated_at: iso(second),
          deleted_at: this.chance(SALT.orgDeleted, id, DELETED_ORG_SHARE) ? iso(second) : null,
          tags: [],
        };
      case 'ticket_events':
        return this.ticketEvent(id, second, revision, options.commentEvents === true);
    }
  }

  private ticketEvent(id: number, second: number, revision: number, commentEvents: boolean): Record<string, unknown> {
    const ticketId = this.ticketOfEvent(id);
    const updater = this.agentFor(id) ?? this.pick('users', id, 4);
    const hasComment = unit(this.seed, SALT.comment, id) < 0.6;
    const isPublic = id % 3 !== 0;
    const via = id % 2 ? 'Web form' : 'Mail';
    const children: Record<string, unknown>[] = [
      {
        id: id * 10 + 1,
        event_type: 'Change',
        via,
        via_reference_id: null,
        status: (['open', 'pending', 'solved'] as const)[(id + revision) % 3],
        priority: id % 4 === 0 ? 'high' : null,
        ...(id % 5 === 0 ? { added_tags: [`tag${id % 10}`], removed_tags: [] } : {}),
        comment_present: hasComment,
        comment_public: hasComment && isPublic,
      },
    ];
    if (commentEvents && hasComment) {
      // include=comment_events: the comment itself joins the child events.
      children.push({
        id: id * 10 + 2,
        type: 'Comment',
        event_type: 'Comment',
        via: { channel: id % 2 ? 'web' : 'email', source: { from: {}, to: {}, rel: null } },
        via_reference_id: null,
        author_id: updater,
        body: `Comment on ticket ${ticketId}, event ${id}.`,
        html_body: `<div class="zd-comment"><p dir="auto">Comment on ticket ${ticketId}, event ${id}.</p></div>`,
        public: isPublic,
        attachments: [],
        audit_id: id,
        created_at: iso(second),
      });
    }
    return {
      id,
      ticket_id: ticketId,
      timestamp: second,
      created_at: iso(second),
      updater_id: updater,
      via,
      system: { client: 'Mozilla/5.0', ip_address: '192.0.2.1', location: 'Berlin, Germany', latitude: 52.5, longitude: 13.4 },
      event_type: 'Audit',
      child_events: children,
    };
  }

  /** The ids a sideload needs for a page of records. */
  relatedIds(sideload: string, records: readonly Record<string, unknown>[]): number[] {
    const fields: Record<string, readonly string[]> = {
      users: ['requester_id', 'submitter_id', 'assignee_id'],
      groups: ['group_id'],
      organizations: ['organization_id'],
      metric_sets: ['id'],
      identities: ['id'],
    };
    const ids = new Set<number>();
    for (const r of records) {
      for (const f of fields[sideload] ?? []) if (typeof r[f] === 'number') ids.add(r[f] as number);
    }
    return [...ids];
  }

  /** A sideloaded object: users and organizations are the records themselves. */
  sideload(name: string, id: number): Record<string, unknown> | undefined {
    const host = `https://${this.name}.zendesk.com/api/v2`;
    switch (name) {
      case 'users':
        return this.record('users', id);
      case 'organizations':
        return this.record('organizations', id);
      case 'groups':
        return { id, url: `${host}/groups/${id}.json`, name: `Group ${id}`, deleted: false, created_at: iso(this.origin), updated_at: iso(this.origin) };
      case 'identities':
        return { id: id * 100, url: `${host}/users/${id}/identities/${id * 100}.json`, user_id: id, type: 'email', value: `user${id}@example.com`, verified: true, primary: true };
      case 'metric_sets': {
        const metricId = id + 500_000_000;
        const updated = this.versions.tickets.secondOf(id) ?? this.origin;
        return { id: metricId, ticket_id: id, url: `${host}/ticket_metrics/${metricId}.json`, reopens: id % 3, replies: id % 5, assignee_stations: 1, group_stations: 1, created_at: iso(this.createdSecond('tickets', id)), updated_at: iso(updated) };
      }
    }
    return undefined;
  }
}
