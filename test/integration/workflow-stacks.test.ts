/**
 * The worker process keeps short stacks in its workflows (worker/main.ts): the SDK records the stack of
 * every promise a workflow creates, and the frames it walks are most of a small task's cost. The stack
 * trace query, which the Temporal UI's "Call Stack" shows, must still say where an export waits. The
 * worker is the real CLI (`dist/`, built by `npm test`), as a user runs it.
 */
import { startStack, type Stack } from '../../devserver/stack';
import { WORKFLOW_STACK_FRAMES } from '../../worker/main';
import { installTestRuntime } from '../helpers/temporal';

let stack: Stack;

beforeAll(async () => {
  installTestRuntime();
  stack = await startStack({ simulator: { sizes: { tickets: 30 }, rateLimits: 'off' }, accounts: ['acme'], taskQueue: 'stacks-test', client: { startTimeoutMs: 60_000 } });
});
afterAll(() => stack?.close());

test("a following export's stacks keep at most the workflow's share of the frames, and still name where it waits", async () => {
  const { client, sim, out } = stack as Required<Stack>;
  const worker = stack.startWorkerProcess();
  const handle = await client.start({ account: 'acme', resource: 'tickets', startTime: 0, destination: out, followIntervalSeconds: 3600 });
  // Caught up: the export waits on its follow timer for an hour.
  while ((await handle.progress()).status !== 'following') await new Promise((r) => setTimeout(r, 200));
  const trace = await client.client.workflow.getHandle(handle.workflowId).query<string>('__stack_trace');
  const stacks = trace.split('\n\n').map((s) => s.split('\n').filter((line) => /^\s+at /.test(line)));
  // Two of the frames are the SDK's promise hook, which the query leaves out.
  for (const frames of stacks) expect(frames.length).toBeLessThanOrEqual(WORKFLOW_STACK_FRAMES - 2);
  expect(trace).toMatch(/at (wait|afterBatch|condition)\b/);
  expect(sim.stats().requests).toBeGreaterThan(0);
  await handle.cancel();
  await worker.kill();
}, 120_000);
