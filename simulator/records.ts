/**
 * A simulated account's records, deterministic from a seed and compact enough for a million per
 * resource: only the (version second, id) order is stored (versions.ts); each record is generated from
 * (seed, id, version, revision) when it is served, as the exact JSON text it is served as.
 */
import { RESOURCES, type Resource, type SupportTypeScope } from '../zendesk/endpoints';
import { jsonText } from './json-text';
import { unit } from './random';
import {
  groupShape, identityShape, metricSetShape, organizationShape, ticketEventShape, ticketShape, userShape, type UserRole, type VersionFacts,
} from './record-shapes';
import { MAX_RECORDS, MAX_SPAN_SECONDS, Versions, type Entry } from './versions';

export { MAX_RECORDS, MAX_SPAN_SECONDS, type Entry } from './versions';

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

/** Shares of records with a property; chosen per id from the seed. */
const AI_SHARE = 0.15;
const DELETED_TICKET_SHARE = 0.06;
const INACTIVE_USER_SHARE = 0.05;
const PECULIAR_SHARE = 0.05;
const AGENT_EVERY = 10; // Users 1, 11, 21, ... are agents; user 1 is the admin.
const GROUPS = 8;

const SALT = { second: 1, ai: 2, deleted: 3, inactive: 4, peculiar: 5, pick: 6, comment: 7, created: 8, stale: 9, agent: 10 } as const;
const RESOURCE_SALT: Record<Resource, number> = { tickets: 100, users: 200, organizations: 300, ticket_events: 400 };

/** A record as built for serving: plain data with exact-text leaves (json-text.ts). */
export type RecordShape = Record<string, unknown>;

export class AccountData {
  private readonly versions: Record<Resource, Versions>;
  private readonly seed: number;
  readonly origin: number;
  /** Records generated so far (records are never stored, so this counts the work of serving). */
  generated = 0;

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

  /**
   * Tickets handled by AI agents: left out under Zendesk's default `support_type_scope=agent`. Not a
   * field of the record (Zendesk has none): only the scope filter reveals it.
   */
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
  visible(resource: Resource, id: number, scope: SupportTypeScope, excludeDeleted: boolean): boolean {
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

  /** The current version of a record as built for serving; undefined for an unknown id. */
  shape(resource: Resource, id: number, options: { commentEvents?: boolean } = {}): RecordShape | undefined {
    const v = this.versions[resource];
    const second = v.secondOf(id);
    if (second === undefined) return undefined;
    this.generated++;
    const revision = v.revisionOf(id);
    const facts: VersionFacts = {
      id, account: this.name, second, revision, created: this.createdSecond(resource, id), peculiar: this.chance(RESOURCE_SALT[resource] + SALT.peculiar, id, PECULIAR_SHARE),
    };
    switch (resource) {
      case 'tickets': {
        // A quarter of the versions come from a system update: generated_timestamp moved, updated_at did not.
        const system = unit(this.seed, SALT.stale, id + revision * 7919) < 0.25;
        const requester = this.pick('users', id, 1);
        return ticketShape({
          ...facts,
          updated: Math.max(facts.created, system ? second - 1 - Math.floor(unit(this.seed, SALT.stale, id) * 7200) : second),
          ai: this.isAiTicket(id),
          deleted: this.isDeletedTicket(id),
          requester,
          assignee: this.agentFor(id),
          organization: this.pick('organizations', id, 2),
          group: 1 + (id % GROUPS),
        });
      }
      case 'users': {
        const role: UserRole = id === 1 ? 'admin' : id % AGENT_EVERY === 1 ? 'agent' : 'end-user';
        return userShape({
          ...facts, role, active: !this.chance(SALT.inactive, id, INACTIVE_USER_SHARE), organization: this.pick('organizations', id, 3), group: 1 + (id % GROUPS),
        });
      }
      case 'organizations':
        return organizationShape({ ...facts, group: id % 3 ? null : 1 + (id % GROUPS) });
      case 'ticket_events':
        return ticketEventShape({
          id, second, revision, ticketId: this.ticketOfEvent(id), updater: this.agentFor(id) ?? this.pick('users', id, 4),
          hasComment: unit(this.seed, SALT.comment, id) < 0.6, commentEvents: options.commentEvents === true,
        });
    }
  }

  /** The exact text a record is served as. */
  text(resource: Resource, id: number, options: { commentEvents?: boolean } = {}): string | undefined {
    const shape = this.shape(resource, id, options);
    return shape && jsonText(shape);
  }

  /** A record as a client reads it: the parsed served text (a `1.0` reads as 1, a big integer rounded). */
  record(resource: Resource, id: number, options: { commentEvents?: boolean } = {}): Record<string, unknown> | undefined {
    const text = this.text(resource, id, options);
    return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
  }

  /** The ids a sideload needs for a page of records. */
  relatedIds(sideload: string, records: readonly RecordShape[]): number[] {
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
  sideload(name: string, id: number): RecordShape | undefined {
    switch (name) {
      case 'users':
        return this.shape('users', id);
      case 'organizations':
        return this.shape('organizations', id);
      case 'groups':
        return groupShape(this.name, id, this.origin);
      case 'identities':
        return identityShape(this.name, id);
      case 'metric_sets': {
        const ticket = this.shape('tickets', id);
        const solved = ticket?.status === 'solved' || ticket?.status === 'closed';
        return metricSetShape(this.name, id, this.createdSecond('tickets', id), this.versions.tickets.secondOf(id) ?? this.origin, solved);
      }
    }
    return undefined;
  }
}

/**
 * The simulated accounts: those named at start are built then, any other name on first use. The
 * default account (the first name) has the simulator's seed, the others one derived from their name.
 */
export class Accounts {
  private readonly byName = new Map<string, AccountData>();
  private readonly defaultName: string;

  constructor(
    names: readonly string[],
    private readonly options: AccountDataOptions,
  ) {
    this.defaultName = names[0]!;
    for (const name of names) this.get(name);
  }

  get(name: string = this.defaultName): AccountData {
    let data = this.byName.get(name);
    if (!data) {
      let seed = this.options.seed >>> 0;
      if (name !== this.defaultName) for (const c of name) seed = (Math.imul(seed, 31) + c.charCodeAt(0)) >>> 0;
      this.byName.set(name, (data = new AccountData(name, { ...this.options, seed })));
    }
    return data;
  }

  /** Records generated in every account so far. */
  generated(): number {
    let sum = 0;
    for (const data of this.byName.values()) sum += data.generated;
    return sum;
  }
}
