/**
 * The worker process killed with SIGKILL mid-export, three times, then started again: the export
 * completes with nothing lost and nothing written twice. The worker is the real CLI (`dist/`, built
 * by `npm test`), so this is exactly what a user runs.
 */
import path from 'node:path';
import { startStack, type Stack } from '../../devserver/stack';
import { duplicates, newestById, readRecords, versionKeys } from '../helpers/output';
import { installTestRuntime } from '../helpers/temporal';

let stack: Stack;

beforeAll(async () => {
  installTestRuntime();
  // The worker serves only the accounts it is told of, and writes only inside its output root.
  stack = await startStack({
    simulator: { sizes: { tickets: 600 }, rateLimits: 'off', faults: { latencyMs: 50 } },
    accounts: ['acme'],
    taskQueue: 'crash-test',
    client: { startTimeoutMs: 60_000 },
  });
});
afterAll(() => stack?.close());

test('SIGKILL of the worker mid-export, three times: complete, nothing lost, nothing twice', async () => {
  const { client, sim, out } = stack as Required<Stack>;
  let worker = stack.startWorkerProcess();
  const handle = await client.start({
    account: 'acme',
    resource: 'tickets',
    mode: 'time',
    startTime: 0,
    perPage: 10,
    destination: out,
    rateLimit: { requests: 1000, seconds: 1 },
  });
  for (let kill = 1; kill <= 3; kill++) {
    const target = kill * 12;
    // The simulator counts the pages asked for; a query would need the worker that is about to die.
    while ((sim.stats().requestsByEndpoint.tickets_time ?? 0) < target) await new Promise((r) => setTimeout(r, 20));
    await worker.kill('SIGKILL');
    worker = stack.startWorkerProcess();
  }
  const result = await handle.result();
  await worker.kill();
  expect(result.outcome).toBe('completed');
  const written = readRecords(path.join(out, 'acme'), 'tickets');
  expect(duplicates(versionKeys(written, 'generated_timestamp'))).toEqual([]);
  const expected = sim.expected(undefined, 'tickets', { supportTypeScope: 'all' });
  expect([...newestById(written, 'generated_timestamp').keys()].sort()).toEqual(expected.map((t) => String(t.id)).sort());
}, 300_000);
