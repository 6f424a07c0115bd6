/**
 * The NDJSON destination on a real temp folder: an origin's files belong to one owner (workflow ID and
 * first run), a resumed export takes them over after the pages already written, and no symbolic link
 * under the root leads a write outside it.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DestinationConfigError, type PageWrite } from '../../activities/destinations';
import type { ExportOwner } from '../../activities/destinations/destination';
import { ndjsonDestination, pageFileName } from '../../activities/destinations/ndjson';
import { startPosition } from '../../zendesk/paging';

const ORIGIN = '20240101T000000.000Z-tickets_time';
let root: string;
let outside: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'ndjson-root-'));
  outside = mkdtempSync(path.join(os.tmpdir(), 'ndjson-outside-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const first: ExportOwner = { workflowId: 'zendesk-export/acme/tickets/tickets_time', firstRunId: 'run-1' };

function page(owner: ExportOwner, pageNumber: number, texts: string[], exportId = owner.workflowId): PageWrite {
  const at = startPosition('tickets_time', { kind: 'time', startTime: pageNumber });
  return {
    account: 'acme',
    owner,
    exportId,
    resource: 'tickets',
    endpoint: 'tickets_time',
    origin: ORIGIN,
    pageNumber,
    records: texts.map((text) => ({ value: { id: 1 }, text })),
    sideloads: {},
    at,
    checkpoint: { at, pages: 1, records: texts.length, repeats: 0, sideloaded: 0, sentAt: [], notes: [], exportId, origin: ORIGIN, firstPage: pageNumber },
    endOfStream: false,
  };
}

const file = (n: number) => path.join(root, 'acme', 'tickets', pageFileName({ origin: ORIGIN, pageNumber: n }));
const read = (n: number) => readFileSync(file(n), 'utf8');

test("another export carrying the same origin neither replaces nor deletes the owner's pages, nor reads its checkpoint", async () => {
  const destination = ndjsonDestination(root);
  await destination.writePage(page(first, 1, ['{"id":1}']));
  await destination.writePage(page(first, 2, ['{"id":2}']));
  const other: ExportOwner = { workflowId: 'zendesk-export/acme/tickets/tickets_cursor', firstRunId: 'run-9' };
  // Claimed as its own by the other's exportId too: the owner is what the worker knows, not the input.
  for (const attempt of [page(other, 1, []), page(other, 2, ['{"id":"forged"}']), page(other, 3, ['{"id":3}'], first.workflowId)]) {
    await expect(destination.writePage(attempt)).rejects.toThrow(/belong to another export/);
  }
  expect(read(1)).toBe('{"id":1}\n');
  expect(read(2)).toBe('{"id":2}\n');
  expect(existsSync(file(3))).toBe(false);
  expect(await destination.readCheckpoint({ account: 'acme', resource: 'tickets', exportId: first.workflowId, origin: ORIGIN, owner: other })).toBeUndefined();
  expect(await destination.readCheckpoint({ account: 'acme', resource: 'tickets', exportId: first.workflowId, origin: ORIGIN, owner: first })).toMatchObject({ firstPage: 2 });
});

test('a resumed export (same workflow ID, new first run) carries on after the pages already written, and the earlier run may write no more', async () => {
  const destination = ndjsonDestination(root);
  for (const n of [1, 2, 3]) await destination.writePage(page(first, n, [`{"id":${n}}`]));
  const resumed: ExportOwner = { ...first, firstRunId: 'run-2' };
  await destination.writePage(page(resumed, 2, [])); // Asked for again: kept, not deleted.
  await destination.writePage(page(resumed, 3, ['{"id":"other"}'])); // Kept, not replaced.
  await destination.writePage(page(resumed, 4, ['{"id":4}']));
  expect([read(1), read(2), read(3), read(4)]).toEqual(['{"id":1}\n', '{"id":2}\n', '{"id":3}\n', '{"id":4}\n']);
  // The earlier run (an activity still running after its workflow ended) cannot take the files back.
  await expect(destination.writePage(page(first, 5, ['{"id":5}']))).rejects.toThrow(DestinationConfigError);
  await expect(destination.writePage(page(first, 4, []))).rejects.toThrow(DestinationConfigError);
  expect(read(4)).toBe('{"id":4}\n');
});

test("a worker that read an owner before sees it taken over by another worker, or changed in place, at its next page", async () => {
  const mine = ndjsonDestination(root);
  const theirs = ndjsonDestination(root); // Another worker process on the same folder.
  for (const n of [1, 2]) await mine.writePage(page(first, n, [`{"id":${n}}`]));
  await theirs.writePage(page({ ...first, firstRunId: 'run-2' }, 3, ['{"id":3}']));
  await expect(mine.writePage(page(first, 3, ['{"id":"late"}']))).rejects.toThrow(/belong to another export/);
  await theirs.writePage(page({ ...first, firstRunId: 'run-2' }, 4, ['{"id":4}']));
  expect([read(3), read(4)]).toEqual(['{"id":3}\n', '{"id":4}\n']);
  // The owner file edited in place, same size, back to the first run: read again, not taken as known.
  const owner = path.join(root, 'acme', 'tickets', '.checkpoints', `${ORIGIN}.owner.json`);
  const claim = readFileSync(owner, 'utf8');
  writeFileSync(owner, claim.replace('"firstRunId":"run-2"', '"firstRunId":"run-1"').replace('"before":["run-1"]', '"before":["run-2"]'));
  await expect(theirs.writePage(page({ ...first, firstRunId: 'run-2' }, 5, ['{"id":5}']))).rejects.toThrow(/belong to another export/);
  expect(existsSync(file(5))).toBe(false);
});

test("an export written by 0.2.1 (a checkpoint, no owner file) stays readable and continuable, and only under its own workflow ID", async () => {
  const dir = path.join(root, 'acme', 'tickets');
  mkdirSync(path.join(dir, '.checkpoints'), { recursive: true });
  for (const n of [1, 2]) writeFileSync(file(n), `{"id":${n}}\n`);
  writeFileSync(path.join(dir, '.checkpoints', `${ORIGIN}.json`), JSON.stringify({ ...page(first, 1, []).checkpoint, pages: 2, firstPage: 1 }));
  const destination = ndjsonDestination(root);
  await expect(destination.writePage(page({ workflowId: 'zendesk-export/acme/users/users_cursor', firstRunId: 'x' }, 1, []))).rejects.toThrow(/belong to another export/);
  // A 0.2.1 run retried by this version (no first run ID) carries on after its checkpoint.
  await destination.writePage(page({ workflowId: first.workflowId }, 3, ['{"id":3}']));
  // The first run of this version claims it, keeping what the 0.2.1 checkpoint vouched for.
  await destination.writePage(page(first, 1, []));
  await destination.writePage(page(first, 4, ['{"id":4}']));
  expect([read(1), read(2), read(3), read(4)]).toEqual(['{"id":1}\n', '{"id":2}\n', '{"id":3}\n', '{"id":4}\n']);
  expect(readdirSync(dir).filter((f) => f.endsWith('.ndjson'))).toHaveLength(4);
});

test('a symbolic link under the root does not lead writes outside it, and the message does not name the root', async () => {
  symlinkSync(outside, path.join(root, 'link'));
  const viaFolder = ndjsonDestination(path.join(root, 'link'), root);
  const err = await viaFolder.writePage(page(first, 1, ['{"id":1}'])).catch((e: unknown) => e as Error);
  expect(err).toBeInstanceOf(DestinationConfigError);
  expect(err!.message).toMatch(/"link" leads outside the worker's output root/);
  expect(err!.message).not.toContain(root);
  // Deeper: the account's folder is a link.
  mkdirSync(path.join(root, 'deep'));
  symlinkSync(outside, path.join(root, 'deep', 'acme'));
  await expect(ndjsonDestination(path.join(root, 'deep'), root).writePage(page(first, 1, ['{"id":1}']))).rejects.toThrow(/"deep\/acme" leads outside/);
  expect(readdirSync(outside)).toEqual([]);
});

test('a root that is itself a link is followed (the operator chose it), and a write failure names the file relative to the root', async () => {
  const linkedRoot = `${outside}-root`;
  symlinkSync(root, linkedRoot);
  try {
    const destination = ndjsonDestination(path.join(linkedRoot, 'out'), linkedRoot);
    await destination.writePage(page(first, 1, ['{"id":1}']));
    expect(readFileSync(path.join(root, 'out', 'acme', 'tickets', pageFileName({ origin: ORIGIN, pageNumber: 1 })), 'utf8')).toBe('{"id":1}\n');
    writeFileSync(path.join(root, 'blocked'), 'a file where a folder should be');
    const err = await ndjsonDestination(path.join(linkedRoot, 'blocked'), linkedRoot).writePage(page(first, 1, ['{"id":1}'])).catch((e: unknown) => e as Error);
    expect(err!.message).toMatch(/^Could not write blocked\/acme\/tickets\/.* in the worker's output root: E/);
    expect(err!.message).not.toContain(root);
  } finally {
    rmSync(linkedRoot);
  }
});

test('a folder written to before and then replaced by a link leading outside is refused at the next page', async () => {
  const destination = ndjsonDestination(root);
  await destination.writePage(page(first, 1, ['{"id":1}']));
  rmSync(path.join(root, 'acme', 'tickets'), { recursive: true });
  symlinkSync(outside, path.join(root, 'acme', 'tickets'));
  await expect(destination.writePage(page(first, 2, ['{"id":2}']))).rejects.toThrow(/"acme\/tickets" leads outside/);
  expect(readdirSync(outside)).toEqual([]);
});

test("each record is one line of its exact text in UTF-8, and no temporary file is left beside the pages, checkpoints or owner file", async () => {
  const texts = ['{"name":"Zoë 🎉 ünïcödé","n":1.0}', '{"escaped":"\\u00e9\\/"}', '{"cjk":"中文","big":12345678901234567890}'];
  const destination = ndjsonDestination(root);
  await destination.writePage(page(first, 1, texts));
  await destination.writePage(page(first, 2, texts.slice(1)));
  expect(readFileSync(file(1))).toEqual(Buffer.from(texts.map((t) => `${t}\n`).join(''), 'utf8'));
  expect(read(2)).toBe(`${texts[1]}\n${texts[2]}\n`);
  const names = [...readdirSync(path.join(root, 'acme', 'tickets')), ...readdirSync(path.join(root, 'acme', 'tickets', '.checkpoints'))];
  expect(names.filter((name) => name.includes('.tmp-'))).toEqual([]);
  expect(names).toEqual(expect.arrayContaining([`${ORIGIN}.owner.json`, `${ORIGIN}.json`]));
});
