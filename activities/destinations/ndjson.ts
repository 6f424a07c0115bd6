/**
 * NDJSON files, the default destination. Layout:
 * `<dir>/<account>/<resource>/<endpoint>-<origin>-<page>.ndjson`, one record per line as Zendesk
 * returned it, and sideloads in `<dir>/<account>/<resource>/<sideload>/` under the same file name
 * (accounts apart, so several can share one destination). A page is written to a temporary file and
 * renamed into place, so a crash never leaves half a page and a retry replaces the page whole.
 */
import { promises as fs } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { DestinationError, type PageSink, type PageWrite } from './destination';

export function pageFileName(page: Pick<PageWrite, 'endpoint' | 'origin' | 'pageNumber'>): string {
  return `${page.endpoint}-${page.origin}-${String(page.pageNumber).padStart(8, '0')}.ndjson`;
}

async function replaceFile(file: string, records: readonly unknown[]): Promise<void> {
  if (records.length === 0) {
    await fs.rm(file, { force: true }); // An earlier attempt of this page may have found more.
    return;
  }
  await fs.mkdir(path.dirname(file), { recursive: true });
  // Unique: an abandoned attempt of the same page may still be writing beside its retry.
  const tmp = `${file}.tmp-${randomUUID()}`;
  let text = '';
  for (const record of records) text += JSON.stringify(record) + '\n';
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, file);
}

export function ndjsonSink(dir: string): PageSink {
  return {
    async writePage(page) {
      const name = pageFileName(page);
      const folder = path.join(dir, page.account, page.resource);
      try {
        await replaceFile(path.join(folder, name), page.records);
        for (const [sideload, records] of Object.entries(page.sideloads)) {
          await replaceFile(path.join(folder, sideload, name), records);
        }
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        throw new DestinationError(`Could not write ${path.join(folder, name)}: ${e.code ?? e.message}`);
      }
    },
    close: async () => undefined,
  };
}
