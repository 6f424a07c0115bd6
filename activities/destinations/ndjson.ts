/**
 * NDJSON files, the default destination. Layout under the worker's output root:
 * `<dir>/<account>/<resource>/<origin>-<page>.ndjson`, one record per line exactly as Zendesk sent it,
 * and sideloads in `<dir>/<account>/<resource>/<sideload>/` under the same file name (accounts apart,
 * so several can share one folder). `origin` is the export's start stamp and first endpoint, so file
 * names sort in export order across exports. A page is written to a temporary file and renamed into
 * place, so a crash never leaves half a page and a retry replaces the page whole; then the run's
 * checkpoint (`.checkpoints/<origin>.json`) says the page is there.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { PageRecord } from '../../zendesk/page';
import { DestinationConfigError, DestinationError, type CheckpointKey, type Destination, type PageWrite } from './destination';

export function pageFileName(page: Pick<PageWrite, 'origin' | 'pageNumber'>): string {
  return `${page.origin}-${String(page.pageNumber).padStart(8, '0')}.ndjson`;
}

/**
 * The folder a client's `dir` names: relative to the output root, or absolute within it. Throws
 * DestinationConfigError for anything outside the root.
 */
export function resolveOutputFolder(root: string, dir: string): string {
  const base = path.resolve(root);
  const folder = path.resolve(base, dir);
  const inside = path.relative(base, folder);
  if (inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) {
    throw new DestinationConfigError(
      `The output folder ${folder} is outside the worker's output root ${base}; choose a folder inside it, or start the worker with another --output-root.`,
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
  for (const d of missing.reverse()) {
    await fs.mkdir(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
}

export function ndjsonDestination(folder: string): Destination {
  const made = new Set<string>();

  async function replaceFile(file: string, records: readonly PageRecord[] | string): Promise<void> {
    if (records.length === 0) {
      await fs.rm(file, { force: true }); // An earlier attempt of this page may have found more.
      return;
    }
    const dir = path.dirname(file);
    if (!made.has(dir)) {
      await makeFolder(dir);
      made.add(dir);
    }
    // Unique: an abandoned attempt of the same page may still be writing beside its retry.
    const tmp = `${file}.tmp-${randomUUID()}`;
    let text = typeof records === 'string' ? records : '';
    if (typeof records !== 'string') for (const record of records) text += record.text + '\n';
    try {
      await fs.writeFile(tmp, text);
      await fs.rename(tmp, file);
    } catch (err) {
      made.delete(dir); // Someone may have removed it; look again next time.
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  return {
    async writePage(page) {
      const name = pageFileName(page);
      const dir = path.join(folder, page.account, page.resource);
      try {
        await replaceFile(path.join(dir, name), page.records);
        for (const [sideload, records] of Object.entries(page.sideloads)) {
          await replaceFile(path.join(dir, sideload, name), records);
        }
        // After the page: a checkpoint never runs ahead of the files it vouches for.
        await replaceFile(checkpointFile(page), JSON.stringify(page.run));
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        throw new DestinationError(`Could not write ${path.join(dir, name)}: ${e.code ?? e.message}`);
      }
    },
    async readCheckpoint(key) {
      try {
        return JSON.parse(await fs.readFile(checkpointFile(key), 'utf8')) as unknown;
      } catch {
        return undefined; // None yet, or unreadable: the heartbeat is the only record.
      }
    },
    close: async () => undefined,
  };

  function checkpointFile(key: CheckpointKey): string {
    return path.join(folder, key.account, key.resource, '.checkpoints', `${key.origin}.json`);
  }
}
