/**
 * A simulated account's records: deterministic from a seed, compact enough for a million per
 * resource. Only (version second, id) pairs are stored; each record is generated when served, and
 * records changed at run time (a live account) are kept in a small overlay.
 */
import type { Resource } from '../zendesk/endpoints';

/** Records are stamped from this epoch second on (2023-11-14), well outside the one-minute rule. */
export const BASE_SECOND = 1_700_000_000;
const SPAN_SECONDS = 30 * 24 * 3600;

export interface AccountDataOptions {
  seed: number;
  sizes: Record<Resource, number>;
  /** This many records of each resource share one version second (a bulk update). */
  sameSecond: number;
}

/** A position in the (second, id) order. */
export interface Entry {
  second: number;
  id: number;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One resource's ordered versions: a sorted base plus the versions written at run time. */
class Stream {
  readonly seconds: Float64Array;
  readonly ids: Float64Array;
  /** id → its current version second, for records changed at run time. */
  readonly moved = new Map<number, number>();
  /** id → how many times it changed at run time (varies the generated fields). */
  readonly revisions = new Map<number, number>();
  readonly extra: Entry[] = [];
  nextId: number;

  constructor(size: number, sameSecond: number, random: () => number) {
    const pairs: Entry[] = [];
    const bulkSecond = BASE_SECOND + Math.floor(SPAN_SECONDS / 2);
    for (let id = 1; id <= size; id++) {
      const second = id <= sameSecond ? bulkSecond : BASE_SECOND + Math.floor(random() * SPAN_SECONDS);
      pairs.push({ second, id });
    }
    pairs.sort((a, b) => a.second - b.second || a.id - b.id);
    this.seconds = Float64Array.from(pairs.map((p) => p.second));
    this.ids = Float64Array.from(pairs.map((p) => p.id));
    this.nextId = size + 1;
  }

  /** The versions at or after `from` (inclusive) or strictly after `after`, in order, current ones only. */
  *from(start: { second: number; afterId?: number }): Generator<Entry> {
    let lo = 0;
    let hi = this.seconds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.seconds[mid]!;
      const before = start.afterId === undefined ? s < start.second : s < start.second || (s === start.second && this.ids[mid]! <= start.afterId);
      if (before) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.seconds.length; i++) {
      const id = this.ids[i]!;
      if (!this.moved.has(id)) yield { second: this.seconds[i]!, id };
    }
    for (const e of this.extra) {
      if (this.moved.get(e.id) !== e.second) continue; // Superseded by a later change.
      const after = start.afterId === undefined ? e.second >= start.second : e.second > start.second || (e.second === start.second && e.id > start.afterId);
      if (after) yield e;
    }
  }

  touch(id: number, second: number): void {
    // A record changed twice in one second keeps one entry.
    if (this.moved.get(id) !== second) this.extra.push({ second, id });
    this.moved.set(id, second);
    this.revisions.set(id, (this.revisions.get(id) ?? 0) + 1);
    this.extra.sort((a, b) => a.second - b.second || a.id - b.id);
  }
}

const iso = (second: number) => new Date(second * 1000).toISOString().replace('.000Z', 'Z');

export class AccountData {
  private readonly streams: Record<Resource, Stream>;
  readonly sizes: Record<Resource, number>;

  constructor(
    readonly name: string,
    private readonly options: AccountDataOptions,
  ) {
    const random = mulberry32(options.seed);
    this.sizes = options.sizes;
    this.streams = {
      tickets: new Stream(options.sizes.tickets, options.sameSecond, random),
      users: new Stream(options.sizes.users, options.sameSecond, random),
      organizations: new Stream(options.sizes.organizations, options.sameSecond, random),
      ticket_events: new Stream(options.sizes.ticket_events, options.sameSecond, random),
    };
  }

  entries(resource: Resource, start: { second: number; afterId?: number }): Generator<Entry> {
    return this.streams[resource].from(start);
  }

  /** A new version of a record, stamped `second`. */
  update(resource: Resource, id: number, second: number): void {
    this.streams[resource].touch(id, second);
  }

  add(resource: Resource, second: number): number {
    const stream = this.streams[resource];
    const id = stream.nextId++;
    stream.touch(id, second);
    return id;
  }

  count(resource: Resource): number {
    return this.streams[resource].nextId - 1;
  }

  /** Tickets handled by AI agents: left out under Zendesk's default `support_type_scope=agent`. */
  isAiTicket(ticketId: number): boolean {
    return ticketId % 7 === 3;
  }

  ticketOfEvent(eventId: number): number {
    return ((eventId * 7919) % Math.max(1, this.count('tickets'))) + 1;
  }

  /** The record as the API serves it. `comments`: ticket events carry their Comment child events. */
  record(resource: Resource, entry: Entry, comments = false): Record<string, unknown> {
    const { id, second } = entry;
    const revision = this.streams[resource].revisions.get(id) ?? 0;
    const org = (id % Math.max(1, this.sizes.organizations)) + 1;
    const user = (id % Math.max(1, this.sizes.users)) + 1;
    switch (resource) {
      case 'tickets': {
        const ai = this.isAiTicket(id);
        return {
          url: `https://${this.name}.zendesk.com/api/v2/tickets/${id}.json`,
          id,
          external_id: null,
          via: { channel: ai ? 'ai_agent' : id % 2 ? 'email' : 'web', source: { from: {}, to: {}, rel: null } },
          created_at: iso(second - 86_400 - (id % 5000)),
          // System updates move generated_timestamp but not updated_at.
          updated_at: iso(id % 4 === 0 ? second - 3600 : second),
          generated_timestamp: second,
          type: id % 3 ? 'question' : 'incident',
          subject: `Ticket ${id} subject r${revision}`,
          description: `Description of ticket ${id}, revision ${revision}`,
          priority: ['low', 'normal', 'high', 'urgent'][id % 4],
          status: id % 11 === 5 ? 'deleted' : ['new', 'open', 'pending', 'hold', 'solved', 'closed'][id % 6],
          requester_id: user,
          submitter_id: user,
          assignee_id: (id % 3) + 1,
          organization_id: org,
          group_id: (id % 5) + 1,
          tags: [`tag${id % 10}`],
          custom_fields: [{ id: 360000000001, value: `v${id % 3}` }],
          from_messaging_channel: ai,
          support_type: ai ? 'ai_agent' : 'agent',
        };
      }
      case 'users':
        return {
          id,
          url: `https://${this.name}.zendesk.com/api/v2/users/${id}.json`,
          name: `User ${id}${revision ? ` r${revision}` : ''}`,
          email: `user${id}@example.com`,
          role: id % 9 === 1 ? 'admin' : id % 3 ? 'end-user' : 'agent',
          active: id % 13 !== 4, // Deleted users stay in the export with active: false.
          created_at: iso(second - 86_400 * 2),
          updated_at: iso(second),
          organization_id: org,
        };
      case 'organizations':
        return {
          id,
          url: `https://${this.name}.zendesk.com/api/v2/organizations/${id}.json`,
          name: `Organization ${id}${revision ? ` r${revision}` : ''}`,
          created_at: iso(second - 86_400 * 3),
          updated_at: iso(second),
          deleted_at: id % 17 === 8 ? iso(second) : null,
          domain_names: [`org${id}.example.com`],
        };
      case 'ticket_events': {
        const ticketId = this.ticketOfEvent(id);
        const children: Record<string, unknown>[] = [
          { id: id * 10 + 1, via: 'Web form', via_reference_id: null, event_type: 'Change', status: 'open', previous_value: 'new' },
          { id: id * 10 + 2, via: 'Web form', via_reference_id: null, event_type: 'Comment', comment_present: true, comment_public: id % 2 === 0 },
        ];
        if (comments) {
          children[1] = {
            id: id * 10 + 2,
            via: { channel: 'web', source: { from: {}, to: {}, rel: null } },
            via_reference_id: null,
            type: 'Comment',
            event_type: 'Comment',
            author_id: user,
            body: `Comment ${id}`,
            html_body: `<div class="zd-comment"><p dir="auto">Comment ${id}</p></div>`,
            public: id % 2 === 0,
            attachments: [],
            audit_id: id,
            created_at: iso(second),
          };
        }
        return {
          id,
          ticket_id: ticketId,
          timestamp: second,
          created_at: iso(second),
          updater_id: user,
          via: 'Web form',
          system: { client: 'Mozilla/5.0', location: 'Berlin, Germany', latitude: 52.5, longitude: 13.4 },
          event_type: 'Audit',
          child_events: children,
        };
      }
    }
  }

  /** A sideloaded object by id (users, groups, organizations, metric_sets, identities). */
  sideload(name: string, id: number): Record<string, unknown> {
    switch (name) {
      case 'users':
        return { id, name: `User ${id}`, email: `user${id}@example.com` };
      case 'organizations':
        return { id, name: `Organization ${id}` };
      case 'groups':
        return { id, name: `Group ${id}` };
      case 'identities':
        return { id: id * 100, user_id: id, type: 'email', value: `user${id}@example.com` };
      default:
        return { id, ticket_id: id, reopens: id % 3, replies: id % 5 };
    }
  }
}
