/**
 * Faults around a running export, each ending with the output compared to the simulator's data:
 * the Temporal server stopped and restarted on the same SQLite file, the output folder turning
 * read-only (a full disk), and a Zendesk that answers with bursts of failures.
 */
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startExportStack, useExportServer, type ExportStack } from '../helpers/exports';
import { duplicates, newestById, readRecords, versionKeys } from '../helpers/output';
import type { ExportState } from '../../workflows/types';

const FAST = { requests: 1000, seconds: 1 };
let stack: ExportStack;

const shared = useExportServer();
afterEach(async () => {
  await stack?.close();
});

function expectExactlyOnce(expected: Record<string, unknown>[]) {
  const written = readRecords(path.join(stack.out, stack.account), 'tickets');
  expect(duplicates(versionKeys(written, 'generated_timestamp'))).toEqual([]);
  expect([...newestById(written, 'generated_timestamp').keys()].sort()).toEqual(expected.map((t) => String(t.id)).sort());
}

/** Polls the export's progress until `predicate` holds (a progress query may fail while the server restarts). */
async function until(progress: () => Promise<ExportState>, predicate: (s: ExportState) => boolean): Promise<ExportState> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const state = await progress().catch(() => undefined);
    if (state && predicate(state)) return state;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until `pages` page files of the tickets export are on disk: what the worker wrote, seen at
 * once (heartbeated progress lags by seconds, long enough for a short export to end).
 */
async function pagesWritten(pages: number): Promise<void> {
  const folder = path.join(stack.out, stack.account, 'tickets');
  const deadline = Date.now() + 60_000;
  while (!existsSync(folder) || readdirSync(folder).filter((n) => n.endsWith('.ndjson')).length < pages) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pages} pages`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('the Temporal server stopped and restarted on its SQLite file: the export completes, exactly once', async () => {
  // 30 pages of 150 ms each: the restart lands mid-export.
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { tickets: 300 }, rateLimits: 'off', faults: { latencyMs: 150 } } });
  const result = await stack.run(async () => {
    const handle = await stack.client.start({ account: stack.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: stack.out, rateLimit: FAST });
    await pagesWritten(8);
    expect((await handle.describe()).temporalStatus).toBe('RUNNING');
    await shared.server.restart();
    return handle.result();
  });
  expect(result.outcome).toBe('completed');
  expectExactlyOnce(stack.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }));
});

test('an output folder that cannot be written holds the export at its page; once writable it goes on without a gap', async () => {
  // 20 pages of 150 ms each: the folder breaks mid-export.
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { tickets: 200 }, rateLimits: 'off', faults: { latencyMs: 150 } } });
  const folder = path.join(stack.out, stack.account, 'tickets');
  const result = await stack.run(async () => {
    const handle = await stack.client.start({ account: stack.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: stack.out, rateLimit: FAST });
    await pagesWritten(3);
    // A file where the folder was: every write fails (permission bits would not stop root).
    renameSync(folder, `${folder}.away`);
    writeFileSync(folder, 'not a folder');
    // The export backs off on its own timer and says why.
    const retrying = await until(() => handle.progress(), (s) => s.status === 'retrying');
    expect(retrying.retry).toMatchObject({ type: 'DestinationError', message: expect.stringMatching(/Could not write/) });
    const stuckAt = retrying.progress.pages;
    rmSync(folder);
    renameSync(`${folder}.away`, folder);
    const done = await handle.result();
    expect(done.state.progress.pages).toBeGreaterThan(stuckAt);
    return done;
  });
  expect(result.outcome).toBe('completed');
  expectExactlyOnce(stack.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }));
});

test('bursts of 500/503, dropped connections and truncated pages: retried, nothing skipped', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { tickets: 200 }, rateLimits: 'off', faults: { failRate: 0.15, dropRate: 0.05, malformedRate: 0.05 } } });
  const result = await stack.run(async () => {
    const handle = await stack.client.start({ account: stack.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: stack.out, rateLimit: FAST });
    return handle.result();
  });
  expect(result.outcome).toBe('completed');
  const faults = stack.sim.stats().statuses;
  expect((faults[500] ?? 0) + (faults[503] ?? 0)).toBeGreaterThan(0);
  expectExactlyOnce(stack.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }));
}, 300_000);
