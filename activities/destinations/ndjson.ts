/**
 * NDJSON files, the default destination: the layout of layout.ts under `<dir>` in the worker's output
 * root. A page is written to a temporary file and renamed into place, so a crash never leaves half a
 * page; an owner claim is created by a hard link, which fails when the file exists. Every folder is
 * compared by its real path with the root's, so a symbolic link under the root cannot lead outside.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs, writeFile } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { DestinationConfigError, DestinationError, type Destination } from './destination';
import { layoutDestination, type ObjectStore } from './layout';

export { pageFileName } from './layout';

/**
 * Writes a new file (failing if there is one). The callback form: the promise form opens a FileHandle
 * for the file, which costs the main thread several times as much for a page's few kilobytes.
 */
const writeFileCallback = promisify(writeFile);
const writeNew = (file: string, body: string | Uint8Array) => writeFileCallback(file, body, { flag: 'wx' });

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
   * root's before anything is created in it; an existing folder is compared too, every time. A folder
   * that exists and whose real path lies inside the root's is settled by that one look (the usual case,
   * at every page); otherwise the walk from the root creates what is missing and names the part that
   * leads outside.
   */
  async function safeFolder(dir: string): Promise<void> {
    realRoot ??= makeFolder(base)
      .then(() => fs.realpath(base))
      .catch((err) => {
        realRoot = undefined;
        throw err;
      });
    const real = await realRoot;
    const existing = await fs.realpath(dir).catch(() => undefined);
    if (existing !== undefined && isInside(real, existing)) return;
    let d = base;
    for (const part of path.relative(base, dir).split(path.sep).filter(Boolean)) {
      d = path.join(d, part);
      await makeOne(d);
      if (!isInside(real, await fs.realpath(d))) {
        throw new DestinationConfigError(`The folder "${shown(d)}" leads outside the worker's output root (a symbolic link); the worker writes only inside its root.`);
      }
    }
  }

  /**
   * A new file beside `file`, in a checked folder, with `body`; then `place` puts it where it belongs.
   * `moves`: placing it renames the temporary file away, so there is nothing left to remove once it has.
   */
  async function viaTemporary(file: string, body: string | Uint8Array, place: (tmp: string) => Promise<void>, moves: boolean): Promise<void> {
    await safeFolder(path.dirname(file));
    // Unique: an abandoned attempt of the same page may still be writing beside its retry.
    const tmp = `${file}.tmp-${randomUUID()}`;
    let placed = false;
    try {
      await writeNew(tmp, body);
      await place(tmp);
      placed = moves;
    } finally {
      if (!placed) await fs.rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  const at = (name: string) => path.join(folder, ...name.split('/'));
  const store: ObjectStore = {
    async read(name) {
      try {
        return await fs.readFile(at(name), 'utf8');
      } catch {
        return undefined; // Missing or unreadable: not written yet, as far as a reader can tell.
      }
    },
    write: (name, body) => viaTemporary(at(name), body, (tmp) => fs.rename(tmp, at(name)), true),
    async create(name, body) {
      try {
        await viaTemporary(at(name), body, (tmp) => fs.link(tmp, at(name)), false);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      }
    },
    // Device, inode, size and change time (which no file operation can set back): an owner file is
    // replaced by a rename or a link, a new inode, and any change in place moves its change time.
    async stamp(name) {
      const s = await fs.stat(at(name), { bigint: true }).catch(() => undefined);
      return s && `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
    },
    async remove(name) {
      await safeFolder(path.dirname(at(name)));
      await fs.rm(at(name), { force: true });
    },
    failure(name, err) {
      if (err instanceof DestinationConfigError) return err;
      const e = err as NodeJS.ErrnoException;
      return new DestinationError(`Could not write ${shown(at(name))} in the worker's output root: ${e.code ?? e.message}`);
    },
  };
  return layoutDestination(store);
}
