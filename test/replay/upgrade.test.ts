/**
 * A deploy under a running export: a follow-mode export running on version N of the workflows keeps
 * running when the worker is replaced by version N+1 whose workflow changed behind `patched()`; the
 * same change unpatched breaks the running export (its workflow tasks fail on replay). Real worker
 * processes' workflows on a real dev server, the simulator as Zendesk.
 */
import { bundleWorkflowCode, DefaultLogger, type Worker } from '@temporalio/worker';
import { startExportStack, useExportServer, type ExportStack } from '../helpers/exports';
import { createExportWorker } from '../../worker/create-worker';
import { exportWorkflowId } from '../../workflows/ids';
import type { ExportState } from '../../workflows/types';

const shared = useExportServer();
let stack: ExportStack;
afterEach(async () => stack?.close());

const versionN1 = (name: 'patched' | 'unpatched') =>
  bundleWorkflowCode({ workflowsPath: require.resolve(`./versions/${name}`), logger: new DefaultLogger('ERROR') }).then(({ code }) => ({ code }));

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined && ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A worker on the stack's task queue with the given workflow code, running until stopped. */
async function runWorker(bundle: { code: string }): Promise<{ worker: Worker; stop: () => Promise<void> }> {
  const worker = await createExportWorker({
    connection: shared.env.nativeConnection,
    taskQueue: stack.taskQueue,
    workflowBundle: bundle,
    activities: { env: { ...stack.workerEnv }, destinations: { outputRoot: stack.out, postgres: {} } },
  });
  const running = worker.run();
  return {
    worker,
    stop: async () => {
      worker.shutdown();
      await running;
    },
  };
}

async function followOnVersionN(): Promise<{ id: string; state: ExportState }> {
  stack = await startExportStack(shared.env, shared.bundle, { simulator: { sizes: { organizations: 30 }, rateLimits: 'off' } });
  const n = await runWorker(shared.bundle);
  const handle = await stack.client.start({ account: stack.account, resource: 'organizations', startTime: 0, destination: stack.out, followIntervalSeconds: 1 });
  const state = await until(() => handle.progress(), (s) => s.status === 'following' && s.progress.pages >= 3, 'a few polls on version N');
  await n.stop();
  return { id: handle.workflowId, state };
}

const failedTasks = async (id: string) => {
  const events = (await shared.env.client.workflow.getHandle(id).fetchHistory()).events ?? [];
  return events.filter((e) => e.workflowTaskFailedEventAttributes).map((e) => e.workflowTaskFailedEventAttributes!.failure?.message ?? '');
};

test('a follow export on version N keeps running on version N+1 whose change is patched', async () => {
  const { id, state } = await followOnVersionN();
  const n1 = await runWorker(await versionN1('patched'));
  try {
    stack.sim.addRecords(undefined, 'organizations', 5);
    const after = await until(
      () => stack.client.handle(id).progress(),
      (s) => s.progress.records >= state.progress.records + 5 && s.progress.pages >= state.progress.pages + 2,
      'new records exported on version N+1',
    );
    expect(after.status).toBe('following');
    expect(await failedTasks(id)).toEqual([]);
    expect(id).toBe(exportWorkflowId(stack.account, 'organizations', 'organizations'));
  } finally {
    await stack.client.handle(id).cancel().catch(() => undefined);
    await n1.stop();
  }
});

test('the same change without patched() breaks the running export: its workflow tasks fail on replay', async () => {
  const { id } = await followOnVersionN();
  const n1 = await runWorker(await versionN1('unpatched'));
  try {
    const failures = await until(() => failedTasks(id), (f) => f.length > 0, 'a failed workflow task');
    expect(failures.join(' ')).toMatch(/[Nn]ondetermin/);
  } finally {
    await n1.stop();
    await shared.env.client.workflow.getHandle(id).terminate('test finished').catch(() => undefined);
  }
});
