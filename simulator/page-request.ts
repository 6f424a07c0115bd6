/**
 * What a request to an export endpoint asks for: page size, sideloads, filters and where to start.
 * Parameters the endpoint table does not list for the endpoint are ignored, as Zendesk ignores them.
 */
import { isSupportTypeScope, type EndpointSpec, type QueryParam, type SupportTypeScope } from '../zendesk/endpoints';
import { invalidValue } from './errors';
import type { Entry } from './versions';

/** A cursor is a (second, id) position in base64, as every public example decodes: `1576613539.0||467|`. */
export const encodeCursor = (e: Entry): string => Buffer.from(`${e.second}.0||${e.id}|`).toString('base64');

export function decodeCursor(cursor: string): Entry | undefined {
  // A '+' in an unencoded query string arrives as a space.
  const m = /^(\d+)\.0\|\|(\d+)\|$/.exec(Buffer.from(cursor.replace(/ /g, '+'), 'base64').toString('utf8'));
  return m ? { second: Number(m[1]), id: Number(m[2]) } : undefined;
}

export interface Filter {
  scope: SupportTypeScope;
  excludeDeleted: boolean;
}

export interface PageParams {
  perPage: number;
  include: string[];
  filter: Filter;
  /** Where the page starts: `start_time` (inclusive), or a cursor (strictly after it). */
  start: { startTime: number } | { cursor: string; after: Entry };
}

export function readPageParams(endpoint: EndpointSpec, params: URLSearchParams): PageParams {
  const accepts = (p: QueryParam) => (endpoint.params as readonly QueryParam[]).includes(p);
  let perPage = endpoint.maxPerPage;
  const perPageText = params.get('per_page');
  if (perPageText !== null && accepts('per_page')) {
    perPage = /^\d+$/.test(perPageText) ? Number(perPageText) : NaN;
    if (!(perPage >= 1 && perPage <= endpoint.maxPerPage)) throw invalidValue(`per_page must be an integer from 1 to ${endpoint.maxPerPage}`);
  }
  const include = accepts('include') ? (params.get('include') ?? '').split(',').map((s) => s.trim()).filter(Boolean) : [];
  for (const name of include) if (!(name in endpoint.sideloads)) throw invalidValue(`Unsupported include: ${name}`);
  let scope: SupportTypeScope = 'all';
  if (accepts('support_type_scope')) {
    const value = params.get('support_type_scope') ?? 'agent'; // Zendesk's default leaves AI-agent tickets out.
    if (!isSupportTypeScope(value)) throw invalidValue('support_type_scope must be all, agent or ai_agent');
    scope = value;
  }
  const filter: Filter = { scope, excludeDeleted: accepts('exclude_deleted') && params.get('exclude_deleted') === 'true' };

  const cursor = endpoint.paging === 'cursor' ? params.get('cursor') : null;
  if (cursor) {
    const after = decodeCursor(cursor);
    if (!after) throw invalidValue('The cursor is not valid');
    return { perPage, include, filter, start: { cursor, after } };
  }
  const text = params.get('start_time');
  if (text === null || !/^\d+$/.test(text)) throw invalidValue('start_time is required and must be a Unix time in seconds');
  return { perPage, include, filter, start: { startTime: Number(text) } };
}

/**
 * The request's query with `name` set to `value`, every other parameter kept as the client wrote it
 * (order and spelling): `next_page` is the request with `start_time` replaced, `after_url` with `cursor`.
 */
export function withParam(query: string, name: string, value: string, drop: readonly string[] = []): string {
  const keyOf = (part: string) => {
    const raw = part.split('=', 1)[0]!.replace(/\+/g, ' ');
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  };
  const set = `${name}=${encodeURIComponent(value)}`;
  const out: string[] = [];
  let replaced = false;
  for (const part of query.split('&')) {
    if (!part || drop.includes(keyOf(part))) continue;
    if (keyOf(part) !== name) out.push(part);
    else if (!replaced) {
      out.push(set);
      replaced = true;
    }
  }
  if (!replaced) out.push(set);
  return out.join('&');
}
