/**
 * The NDJSON layout, over any store of named objects (a folder, an S3 bucket):
 * `<account>/<resource>/<origin>-<page>.ndjson`, one record per line exactly as Zendesk sent it, and
 * sideloads in `<account>/<resource>/<sideload>/` under the same name (accounts apart, so several can
 * share one folder or prefix). `origin` is the export's start stamp and first endpoint, so names sort in
 * export order across exports. A page's objects are written whole (never half a page) under names fixed
 * by the origin and page number, so a retry replaces the page whole; then the batch's checkpoint
 * (`.checkpoints/<origin>.json`) says the page is there.
 *
 * An origin is carried in workflow state, which any Temporal client can write, so it does not name an
 * export on its own: the first write of an origin claims it for its owner (the workflow ID and first run
 * ID the server gave the export) in `.checkpoints/<origin>.owner.json`, created only if absent, and only
 * that owner's writes may replace or delete the origin's objects afterwards.
 */
import { gzipSync } from 'node:zlib';
import type { PageRecord } from '../../zendesk/page';
import { DestinationConfigError, type CheckpointKey, type Destination, type ExportOwner, type PageWrite } from './destination';

/** Named objects, each written whole: a reader sees the old content or the new, never a mix. Names use `/`. */
export interface ObjectStore {
  /** The object's text; undefined when there is none. */
  read(name: string): Promise<string | undefined>;
  /** Creates or replaces the object. */
  write(name: string, body: string | Uint8Array): Promise<void>;
  /** Creates the object only if there is none: false when there was one (two at once: one wins). */
  create(name: string, body: string): Promise<boolean>;
  /** Deletes the object if it is there. */
  remove(name: string): Promise<void>;
  /**
   * A token that changes whenever the object is created, replaced or changed; undefined when there is
   * none. Only for stores where it costs less than a read: the layout then reads an owner object again
   * only when its token changed.
   */
  stamp?(name: string): Promise<string | undefined>;
  /** The error a failed write becomes: config errors as they are, the rest a DestinationError naming the page. */
  failure(name: string, err: unknown): Error;
}

export interface LayoutOptions {
  /** Pages (and sideloads) gzipped, as `.ndjson.gz`. @default false */
  gzip?: boolean;
}

export function pageFileName(page: Pick<PageWrite, 'origin' | 'pageNumber'>, options: LayoutOptions = {}): string {
  return `${page.origin}-${String(page.pageNumber).padStart(8, '0')}.ndjson${options.gzip ? '.gz' : ''}`;
}

/**
 * Who holds an origin in a store: its owner, the first page it may write (the pages before were
 * written by an earlier owner, and are kept), and the first runs of the earlier owners ('' for 0.2.1).
 */
interface Claim extends ExportOwner {
  from: number;
  before: string[];
}

const sameOwner = (a: ExportOwner, b: ExportOwner) => a.workflowId === b.workflowId && (a.firstRunId ?? '') === (b.firstRunId ?? '');

/** Owner objects whose content a destination keeps, by stamp, before it forgets them all (one an export). */
const KNOWN_OWNERS = 10_000;

export function layoutDestination(store: ObjectStore, options: LayoutOptions = {}, close: () => Promise<void> = async () => undefined): Destination {
  /** Owner objects as last read, by name, with their stamp then. */
  const owners = new Map<string, { stamp: string; json: unknown }>();

  /** An object's JSON, or undefined when it is missing or not JSON (a checkpoint not written yet). */
  async function readJson(name: string): Promise<unknown> {
    const text = await store.read(name);
    try {
      return text === undefined ? undefined : (JSON.parse(text) as unknown);
    } catch {
      return undefined;
    }
  }

  async function replacePage(name: string, records: readonly PageRecord[]): Promise<void> {
    if (records.length === 0) return store.remove(name); // An earlier attempt of this page may have found more.
    const bytes = ndjsonBytes(records);
    await store.write(name, options.gzip ? gzipSync(bytes) : bytes);
  }

  /**
   * An owner object's JSON, as readJson, read again only when its stamp changed: it is looked at before
   * every page, and replaced only when an export is taken over. The stamp is taken before the read, so
   * a replacement in between is read again at the next look.
   */
  async function readOwner(name: string): Promise<unknown> {
    if (!store.stamp) return readJson(name);
    const stamp = await store.stamp(name);
    const known = owners.get(name);
    if (stamp !== undefined && known?.stamp === stamp) return known.json;
    owners.delete(name);
    if (stamp === undefined) return undefined;
    const json = await readJson(name);
    if (owners.size >= KNOWN_OWNERS) owners.clear();
    owners.set(name, { stamp, json });
    return json;
  }

  /**
   * Who holds the origin now: its owner object, else the checkpoint of a 0.2.1 export (which wrote no
   * owner object) standing for its workflow ID; undefined when nobody does.
   */
  async function holder(key: CheckpointKey): Promise<Claim | undefined> {
    const c = (await readOwner(ownerName(key))) as Partial<Claim> | undefined;
    if (c && typeof c.workflowId === 'string' && Number.isSafeInteger(c.from) && Array.isArray(c.before)) {
      return { workflowId: c.workflowId, firstRunId: typeof c.firstRunId === 'string' ? c.firstRunId : undefined, from: c.from!, before: c.before.map(String) };
    }
    const legacy = (await readJson(checkpointName(key))) as { exportId?: unknown } | undefined;
    return legacy ? { workflowId: String(legacy.exportId), from: 1, before: [] } : undefined;
  }

  /** The page after the last one the origin's checkpoint vouches for. */
  async function nextPage(key: CheckpointKey): Promise<number> {
    const c = (await readJson(checkpointName(key))) as { firstPage?: unknown; pages?: unknown } | undefined;
    return c && Number.isSafeInteger(c.firstPage) && Number.isSafeInteger(c.pages) ? Math.max(1, (c.firstPage as number) + (c.pages as number)) : 1;
  }

  /**
   * The claim `page.owner` holds on its origin here, read at every page (an owner that was taken
   * over from stops writing at once). Nobody holding it, the owner claims it; an earlier run of the
   * same workflow ID holding it (a resumed export), the owner takes it over after the pages that run
   * wrote, which are kept. Throws DestinationConfigError when another export holds the origin, or
   * the writer is an earlier owner.
   */
  async function claimed(page: PageWrite): Promise<Claim> {
    const held = await holder(page);
    if (held && sameOwner(held, page.owner)) return held;
    const { workflowId, firstRunId } = page.owner;
    if (held && (held.workflowId !== workflowId || !firstRunId || held.before.includes(firstRunId))) {
      throw new DestinationConfigError(`The files of export ${page.origin} here belong to another export; an export writes and deletes only its own pages.`);
    }
    const claim: Claim = { workflowId, firstRunId, from: Math.max(held?.from ?? 1, await nextPage(page)), before: held ? [...held.before, held.firstRunId ?? ''] : [] };
    if (!firstRunId) return claim; // A run a 0.2.1 worker scheduled: it carries on after its checkpoint, claiming nothing.
    // A first claim is created only if absent (two at once: one wins); a takeover replaces the old one.
    if (held) await store.write(ownerName(page), JSON.stringify(claim));
    else if (!(await store.create(ownerName(page), JSON.stringify(claim)))) return claimed(page);
    return claim;
  }

  return {
    async writePage(page) {
      const name = pageFileName(page, options);
      const dir = `${page.account}/${page.resource}`;
      try {
        const claim = await claimed(page);
        // A page an earlier owner wrote is kept as it is (a resumed export asks for it again).
        if (page.pageNumber >= claim.from) {
          await replacePage(`${dir}/${name}`, page.records);
          for (const [sideload, records] of Object.entries(page.sideloads)) await replacePage(`${dir}/${sideload}/${name}`, records);
        }
        // After the page: a checkpoint never runs ahead of the objects it vouches for.
        await store.write(checkpointName(page), JSON.stringify(page.checkpoint));
      } catch (err) {
        throw err instanceof DestinationConfigError ? err : store.failure(`${dir}/${name}`, err);
      }
    },
    async readCheckpoint(key) {
      const held = await holder(key);
      if (held && !sameOwner(held, key.owner)) return undefined; // Another export's progress is not this one's.
      return readJson(checkpointName(key));
    },
    close,
  };
}

/**
 * One line a record, in UTF-8, encoded straight into one buffer of the exact size: joining the texts
 * into a string first and encoding that costs several times as much for a page of 1000 records.
 */
export function ndjsonBytes(records: readonly PageRecord[]): Buffer {
  let size = 0;
  for (const record of records) size += Buffer.byteLength(record.text) + 1;
  const bytes = Buffer.allocUnsafe(size);
  let at = 0;
  for (const record of records) {
    at += bytes.write(record.text, at);
    bytes[at++] = 0x0a;
  }
  return bytes;
}

function checkpointName(key: CheckpointKey): string {
  return `${key.account}/${key.resource}/.checkpoints/${key.origin}.json`;
}

function ownerName(key: CheckpointKey): string {
  return `${key.account}/${key.resource}/.checkpoints/${key.origin}.owner.json`;
}
