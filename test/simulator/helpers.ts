/** HTTP helpers for the simulator tests: plain fetch, as any client would call Zendesk. */
import type { Simulator } from '../../simulator';
import { DEFAULT_API_TOKEN } from '../../simulator';

export const BASIC = `Basic ${Buffer.from(`${DEFAULT_API_TOKEN.email}/token:${DEFAULT_API_TOKEN.token}`).toString('base64')}`;

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

export async function get(url: string, auth: string | null = BASIC): Promise<Reply> {
  const res = await fetch(url, { headers: { Accept: 'application/json', ...(auth ? { Authorization: auth } : {}) } });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Text bodies (429s, some faults) stay in `text`.
  }
  return { status: res.status, headers: res.headers, text, json };
}

export async function post(url: string, body: unknown, form = false): Promise<Reply> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export type Rec = Record<string, unknown>;

/** Follows next_page / after_url until end_of_stream; returns every page's body. */
export async function pageThrough(firstUrl: string, maxPages = 500): Promise<Rec[]> {
  const pages: Rec[] = [];
  let url: string | null = firstUrl;
  while (url) {
    const reply = await get(url);
    if (reply.status !== 200) throw new Error(`${url}: ${reply.status} ${reply.text}`);
    pages.push(reply.json);
    if (reply.json.end_of_stream === true) break;
    url = (reply.json.next_page ?? reply.json.after_url) as string | null;
    if (pages.length >= maxPages) throw new Error(`no end_of_stream after ${maxPages} pages`);
  }
  return pages;
}

/** The newest version of each id over a list of records, keyed by id. */
export function newest(records: Rec[], versionField: string): Map<number, Rec> {
  const version = (r: Rec) => (typeof r[versionField] === 'number' ? (r[versionField] as number) : Date.parse(String(r[versionField])) / 1000);
  const out = new Map<number, Rec>();
  for (const r of records) {
    const prev = out.get(r.id as number);
    if (!prev || version(r) >= version(prev)) out.set(r.id as number, r);
  }
  return out;
}

/** Sorted ids of a record list. */
export const ids = (records: Rec[]): number[] => records.map((r) => r.id as number).sort((a, b) => a - b);

export function path(sim: Simulator, p: string, query: Record<string, string | number> = {}): string {
  const q = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]));
  return `${sim.url}${p}${Object.keys(query).length ? `?${q}` : ''}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
