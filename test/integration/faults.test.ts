/**
 * Faults around a running export, each ending with the output compared to the simulator's data:
 * the Temporal server stopped and restarted on the same SQLite file, the output folder turning
 * read-only (a full disk), and a Zendesk that answers with bursts of failures.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
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

async function until(progress: () => Promise<ExportState>, predicate: (s: ExportState) => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!predicate(await progress().catch(() => ({ pages: -1 }) as ExportState))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the Temporal server stopped and restarted on its SQLite file: the export completes, exactly once', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { tickets: 300 }, rateLimits: 'off', faults: { latencyMs: 40 } } });
  const result = await stack.run(async () => {
    const handle = await stack.client.start({ account: stack.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: stack.out, rateLimit: FAST });
    await until(() => handle.progress(), (s) => s.progress.pages >= 8);
    await shared.server.restart();
    return handle.result();
  });
  expect(result.outcome).toBe('completed');
  expectExactlyOnce(stack.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }));
});

test('an output folder that cannot be written holds the export at its page; once writable it goes on without a gap', async () => {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { tickets: 200 }, rateLimits: 'off', faults: { latencyMs: 20 } } });
  const folder = path.join(stack.out, stack.account, 'tickets');
  const result = await stack.run(async () => {
    const handle = await stack.client.start({ account: stack.account, resource: 'tickets', mode: 'time', startTime: 0, perPage: 10, destination: stack.out, rateLimit: FAST });
    await until(() => handle.progress(), (s) => s.progress.pages >= 3);
    // A file where the folder was: every write fails (permission bits would not stop root).
    renameSync(folder, `${folder}.away`);
    writeFileSync(folder, 'not a folder');
    const deadline = Date.now() + 60_000;
    let retrying: string | undefined;
    while (!(retrying = (await handle.describe()).retrying) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(retrying).toMatch(/Could not write/);
    const stuckAt = (await handle.progress()).progress.pages;
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
