/**
 * NDJSON files, the default destination. Layout under the worker's output root:
 * `<dir>/<account>/<resource>/<origin>-<page>.ndjson`, one record per line exactly as Zendesk sent it,
 * and sideloads in `<dir>/<account>/<resource>/<sideload>/` under the same file name (accounts apart,
 * so several can share one folder). `origin` is the export's start stamp and first endpoint, so file
 * names sort in export order across exports. A page is written to a temporary file and renamed into
 * place, so a crash never leaves half a page and a retry replaces the page whole; then the batch's
 * checkpoint (`.checkpoints/<origin>.json`) says the page is there.
 *
 * An origin is carried in workflow state, which any Temporal client can write, so it does not name
 * an export on its own: the first write of an origin claims it for its owner (the workflow ID and
 * first run ID the server gave the export) in `.checkpoints/<origin>.owner.json`, created exclusively,
 * and only that owner's writes may replace or delete the origin's files afterwards. Every folder is
 * compared by its real path with the root's, so a symbolic link under the root cannot lead outside.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { PageRecord } from '../../zendesk/page';
import { DestinationConfigError, DestinationError, type CheckpointKey, type Destination, type ExportOwner, type PageWrite } from './destination';

export function pageFileName(page: Pick<PageWrite, 'origin' | 'pageNumber'>): string {
  return `${page.origin}-${String(page.pageNumber).padStart(8, '0')}.ndjson`;
}

/** Whether `inner` is `outer` or lies below it (both absolute and normalised). */
function isInside(outer: string, inner: string): boolean {
  const rel = path.relative(outer, inner);
  return !(rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel));
}

/**
 * The folder a client's `dir` names: relative to the output root, or absolute within it. Throws
 * DestinationConfigError for anything outside the root. Lexical: the destination checks real paths
 * when it writes. The message repeats the client's own words, never the root (the worker's set-up).
 */
export function resolveOutputFolder(root: string, dir: string): string {
  const base = path.resolve(root);
  const folder = path.resolve(base, dir);
  if (!isInside(base, folder)) {
    throw new DestinationConfigError(
      `The output folder "${dir}" is outside the worker's output root; choose a folder inside it, or start the worker with another --output-root.`,
    );
  }
  return folder;
}

/**
 * Creates a folder and its missing parents. Node's own recursive mkdir spins for ever on some
 * file systems (under /proc), so this walks up to the nearest existing folder and creates downwards.
 */
export async function makeFolder(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = path.resolve(dir); ; ) {
    try {
      if (!(await fs.stat(d)).isDirectory()) throw Object.assign(new Error(`${d} is not a folder`), { code: 'ENOTDIR' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing.push(d);
      const parent = path.dirname(d);
      if (parent === d) break;
      d = parent;
    }
  }
  for (const d of missing.reverse()) await makeOne(d);
}

async function makeOne(dir: string): Promise<void> {
  await fs.mkdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
}

/**
 * Who holds an origin in a folder: its owner, the first page it may write (the pages before were
 * written by an earlier owner, and are kept), and the first runs of the earlier owners ('' for 0.2.1).
 */
interface Claim extends ExportOwner {
  from: number;
  before: string[];
}

const sameOwner = (a: ExportOwner, b: ExportOwner) => a.workflowId === b.workflowId && (a.firstRunId ?? '') === (b.firstRunId ?? '');

/**
 * The destination for `folder`, which lies inside `root` (lexically; resolveOutputFolder). Files go
 * only into folders whose real path lies inside the root's real path.
 */
export function ndjsonDestination(folder: string, root: string = folder): Destination {
  const base = path.resolve(root);
  let realRoot: Promise<string> | undefined;

  /** Where `file` lies, for messages: relative to the root, which is the worker's and not said. */
  const shown = (file: string) => path.relative(base, file) || '.';

  /**
   * Creates `dir` and its missing parents, from the root down, each compared by real path with the
   * root's before anything is created in it; an existing folder is compared too, every time.
   */
  async function safeFolder(dir: string): Promise<void> {
    realRoot ??= makeFolder(base)
      .then(() => fs.realpath(base))
      .catch((err) => {
        realRoot = undefined;
        throw err;
      });
    const real = await realRoot;
    let d = base;
    for (const part of path.relative(base, dir).split(path.sep).filter(Boolean)) {
      d = path.join(d, part);
      await makeOne(d);
      if (!isInside(real, await fs.realpath(d))) {
        throw new DestinationConfigError(`The folder "${shown(d)}" leads outside the worker's output root (a symbolic link); the worker writes only inside its root.`);
      }
    }
  }

  async function replaceFile(file: string, records: readonly PageRecord[] | string): Promise<void> {
    if (records.length === 0) {
      await fs.rm(file, { force: true }); // An earlier attempt of this page may have found more.
      return;
    }
    // Unique: an abandoned attempt of the same page may still be writing beside its retry.
    const tmp = `${file}.tmp-${randomUUID()}`;
    let text = typeof records === 'string' ? records : '';
    if (typeof records !== 'string') for (const record of records) text += record.text + '\n';
    try {
      await fs.writeFile(tmp, text, { flag: 'wx' });
      await fs.rename(tmp, file);
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Who holds the origin now: its owner file, else the checkpoint of a 0.2.1 export (which wrote no
   * owner file) standing for its workflow ID; undefined when nobody does.
   */
  async function holder(key: CheckpointKey): Promise<Claim | undefined> {
    const c = (await readJson(ownerFile(key))) as Partial<Claim> | undefined;
    if (c && typeof c.workflowId === 'string' && Number.isSafeInteger(c.from) && Array.isArray(c.before)) {
      return { workflowId: c.workflowId, firstRunId: typeof c.firstRunId === 'string' ? c.firstRunId : undefined, from: c.from!, before: c.before.map(String) };
    }
    const legacy = (await readJson(checkpointFile(key))) as { exportId?: unknown } | undefined;
    return legacy ? { workflowId: String(legacy.exportId), from: 1, before: [] } : undefined;
  }

  /** The page after the last one the origin's checkpoint vouches for. */
  async function nextPage(key: CheckpointKey): Promise<number> {
    const c = (await readJson(checkpointFile(key))) as { firstPage?: unknown; pages?: unknown } | undefined;
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
      throw new DestinationConfigError(`The files of export ${page.origin} in this folder belong to another export; an export writes and deletes only its own pages.`);
    }
    const claim: Claim = { workflowId, firstRunId, from: Math.max(held?.from ?? 1, await nextPage(page)), before: held ? [...held.before, held.firstRunId ?? ''] : [] };
    if (!firstRunId) return claim; // A run a 0.2.1 worker scheduled: it carries on after its checkpoint, claiming nothing.
    const file = ownerFile(page);
    await safeFolder(path.dirname(file));
    const tmp = `${file}.tmp-${randomUUID()}`;
    await fs.writeFile(tmp, JSON.stringify(claim), { flag: 'wx' });
    try {
      // A first claim is created exclusively (two at once: one wins); a takeover replaces the old one.
      if (held) await fs.rename(tmp, file);
      else await fs.link(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return claimed(page);
    } finally {
      await fs.rm(tmp, { force: true });
    }
    return claim;
  }

  return {
    async writePage(page) {
      const name = pageFileName(page);
      const dir = path.join(folder, page.account, page.resource);
      try {
        const claim = await claimed(page);
        const files: [string, readonly PageRecord[] | string][] = [];
        // A page an earlier owner wrote is kept as it is (a resumed export asks for it again).
        if (page.pageNumber >= claim.from) {
          files.push([path.join(dir, name), page.records]);
          for (const [sideload, records] of Object.entries(page.sideloads)) files.push([path.join(dir, sideload, name), records]);
        }
        // After the page: a checkpoint never runs ahead of the files it vouches for.
        files.push([checkpointFile(page), JSON.stringify(page.checkpoint)]);
        for (const [file, records] of files) {
          await safeFolder(path.dirname(file));
          await replaceFile(file, records);
        }
      } catch (err) {
        if (err instanceof DestinationConfigError) throw err;
        const e = err as NodeJS.ErrnoException;
        throw new DestinationError(`Could not write ${shown(path.join(dir, name))} in the worker's output root: ${e.code ?? e.message}`);
      }
    },
    async readCheckpoint(key) {
      const held = await holder(key);
      if (held && !sameOwner(held, key.owner)) return undefined; // Another export's progress is not this one's.
      return readJson(checkpointFile(key));
    },
    close: async () => undefined,
  };

  function checkpointFile(key: CheckpointKey): string {
    return path.join(folder, key.account, key.resource, '.checkpoints', `${key.origin}.json`);
  }

  function ownerFile(key: CheckpointKey): string {
    return path.join(folder, key.account, key.resource, '.checkpoints', `${key.origin}.owner.json`);
  }
}

/** A file's JSON, or undefined when it is missing or unreadable (a checkpoint not written yet). */
async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}
