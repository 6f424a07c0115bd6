/**
 * `status`: one export's state, position and notes. An ended export is described from what Temporal
 * keeps (its memo and its failure), with no worker; a running one is asked, and when no worker answers
 * that is said, with exit code 2.
 */
import type { Command } from 'commander';
import { parseExportWorkflowId } from '../../workflows/ids';
import { UnavailableError } from '../../client/errors';
import type { ExportState } from '../../workflows/types';
import { addTargetFlags, print, withClient, workflowIdOf, type Globals, type TargetFlags } from '../context';
import { notFound } from '../errors';
import { counted, progressLine } from '../progress';
import { resourceOf, targetArgs } from '../target';

export function register(program: Command, global: Globals): void {
  addTargetFlags(program.command('status').argument('[resource]').description("one export's progress and position")).action(
    async (resource: string | undefined, flags: TargetFlags) => {
      const workflowId = workflowIdOf(resource, flags);
      await withClient(global(), async (client) => {
        const handle = client.handle(workflowId);
        const described = await handle.describe().catch(notFound(workflowId));
        let state = described.state;
        let noWorker: UnavailableError | undefined;
        if (!state && described.temporalStatus === 'RUNNING') {
          state = await handle.progress().catch((err: unknown) => {
            if (!(err instanceof UnavailableError)) throw err;
            noWorker = err;
            return undefined;
          });
        }
        if (global().json) print(JSON.stringify({ ...described, state }));
        else {
          print(`${workflowId}  (${described.temporalStatus} in Temporal)`);
          if (state) describeState(workflowId, state);
          if (described.failure) print(`${described.temporalStatus === 'TERMINATED' ? 'terminated' : 'failed'}: ${described.failure}`);
          if (described.retrying) print(`retrying: ${described.retrying}`);
          const next = nextStep(workflowId, described.temporalStatus, state);
          if (next) print(next);
        }
        // Said last, on stderr, as every "cannot tell" is: the export itself goes on waiting in Temporal.
        if (noWorker) throw noWorker;
      });
    },
  );
}

function describeState(workflowId: string, state: ExportState): void {
  print(progressLine({ workflowId, resource: resourceOf(workflowId), state }, undefined, Date.now()));
  const endpoint = parseExportWorkflowId(workflowId)?.endpoint;
  print(`position: ${JSON.stringify(state.at.next)}${state.at.endpoint !== endpoint ? ` on ${state.at.endpoint}` : ''}`);
  for (const n of state.notes) print(`note: ${n}`);
}

/** What the user can do next with an ended export. */
function nextStep(workflowId: string, temporalStatus: string, state: ExportState | undefined): string | undefined {
  const where = state ? ` (after ${counted(state.progress.pages, 'page')}, ${counted(state.progress.records, 'record')})` : '';
  const resume = `zendesk-export resume ${targetArgs(workflowId)}`;
  switch (temporalStatus) {
    case 'PENDING':
      return 'Requested; no worker has taken it in yet: it starts when "zendesk-export worker" runs.';
    case 'CANCELLED':
      return `Cancelled${where}; ${resume} restarts it from where it was cancelled.`;
    case 'FAILED':
      return state ? `Failed${where}; once the cause is fixed, ${resume} restarts it from where it failed.` : undefined;
    case 'TERMINATED':
      return state ? `Terminated${where}; ${resume} restarts it from where it stopped.` : undefined;
    default:
      return undefined;
  }
}
