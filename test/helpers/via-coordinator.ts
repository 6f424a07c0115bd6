/**
 * An export asked of its account's coordinator as any client of the namespace could: the 0.2.1 start
 * signal, with a coordinator started if none runs. Exports run only under their coordinator, so this is
 * how a hostile client reaches a worker's export code with an input of its choosing.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { coordinatorWorkflowId, exportWorkflowId } from '../../workflows/ids';
import { startExportSignal } from '../../workflows/messages';
import type { ExportInput } from '../../workflows/types';
import type { accountCoordinator } from '../../workflows';

export interface CoordinatedExport {
  /** The export's new run (not one that ran before the request). */
  handle: WorkflowHandle;
  coordinator: WorkflowHandle;
  /** How it ended: its result, or the error it failed with. */
  ended: Promise<unknown>;
}

export async function startViaCoordinator(client: Client, taskQueue: string, input: ExportInput): Promise<CoordinatedExport> {
  const exportHandle = client.workflow.getHandle(exportWorkflowId(input.account, input.resource, input.endpoint));
  const runOf = () => exportHandle.describe().then((d) => d.runId, () => undefined);
  const before = await runOf(); // The same export may have run before: wait for a new run.
  const coordinator = await client.workflow.signalWithStart<typeof accountCoordinator, [ExportInput]>('accountCoordinator', {
    workflowId: coordinatorWorkflowId(input.account),
    taskQueue,
    args: [{ account: input.account }],
    signal: startExportSignal,
    signalArgs: [input],
  });
  let runId: string | undefined;
  while ((runId = await runOf()) === undefined || runId === before) await new Promise((r) => setTimeout(r, 20));
  const handle = client.workflow.getHandle(exportHandle.workflowId, runId);
  return { handle, coordinator, ended: handle.result().then((r: unknown) => r, (e: unknown) => e) };
}
