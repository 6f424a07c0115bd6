/**
 * What `npm start` does with each of the demo's four exports, decided from what Temporal keeps of them,
 * so that finished work is never done again: a completed export stays complete (or is resumed in follow
 * mode), a running one is picked up where it is, a stopped one resumes from where it stopped, and only
 * an export Temporal knows nothing of starts from the beginning.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { ExportClient, ExportHandle, TemporalStatus } from '../client/export-client';
import { exportWorkflowId } from '../workflows/ids';
import { exportInputQuery } from '../workflows/messages';
import type { ExportState } from '../workflows/types';
import { chooseEndpoint, RESOURCES, type Resource } from '../zendesk/endpoints';

export type Step =
  /** Temporal knows none: export from the beginning. */
  | 'start'
  /** Running (or waiting for a worker): the worker picks it up where it is. */
  | 'attach'
  /** Completed, and no follow mode asked for: nothing to do. */
  | 'done'
  /** Stopped (cancelled, failed, ...) or completed when follow mode is asked for: resumed from where it stopped. */
  | 'resume'
  /** Stopped without recording where (terminated from outside): from the beginning again. */
  | 'restart';

export interface PlannedExport {
  resource: Resource;
  workflowId: string;
  step: Step;
  temporalStatus?: TemporalStatus;
  /** What the export recorded when it ended. */
  state?: ExportState;
}

/** The demo's export of a resource: the resource's default endpoint (cursor where there is one). */
export function demoWorkflowId(account: string, resource: Resource): string {
  const chosen = chooseEndpoint(resource, {});
  if ('error' in chosen) throw new Error(chosen.error);
  return exportWorkflowId(account, resource, chosen.endpoint.id);
}

export async function planExports(client: ExportClient, account: string, follow: boolean): Promise<PlannedExport[]> {
  return Promise.all(
    RESOURCES.map(async (resource): Promise<PlannedExport> => {
      const workflowId = demoWorkflowId(account, resource);
      const described = await client
        .handle(workflowId)
        .describe()
        .catch((err: unknown) => {
          if (err instanceof WorkflowNotFoundError) return undefined;
          throw err;
        });
      if (!described) return { resource, workflowId, step: 'start' };
      const { temporalStatus, state } = described;
      const planned = { resource, workflowId, temporalStatus, state };
      if (temporalStatus === 'RUNNING') return { ...planned, step: 'attach' };
      if (temporalStatus === 'COMPLETED' && !follow) return { ...planned, step: 'done' };
      return { ...planned, step: state ? 'resume' : 'restart' };
    }),
  );
}

/**
 * Whether a running export polls after catching up as this start asks (follow mode or not); one that
 * does not is cancelled (it ends after its page in flight, recording where) and resumed as asked.
 */
export async function matchFollowMode(client: ExportClient, handle: ExportHandle, followSeconds: number | undefined): Promise<ExportHandle> {
  const input = await client.client.workflow.getHandle(handle.workflowId).query(exportInputQuery);
  if (input.followIntervalSeconds === followSeconds) return handle;
  await handle.cancel();
  await handle.result();
  return client.resumeStopped(handle.workflowId, { followIntervalSeconds: followSeconds });
}
