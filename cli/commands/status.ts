/**
 * `status`: one export's state, position and notes. An ended export is described from what Temporal
 * keeps (its memo and its failure), with no worker; a running one is asked, and when no worker answers
 * that is said, with exit code 2. A failed export exits 1. `all` shows each export of the account.
 */
import type { Command } from 'commander';
import { parseExportWorkflowId } from '../../workflows/ids';
import { UnavailableError, UserError } from '../../client/errors';
import type { ExportHandle, TemporalStatus } from '../../client/export-client';
import type { ExportState } from '../../workflows/types';
import { addTargetFlags, print, withClient, workflowIdsOf, type Globals, type TargetFlags } from '../context';
import { notFound } from '../errors';
import { counted, progressLine } from '../progress';
import { resourceOf, targetArgs } from '../target';
import { EXIT } from '../watch';

export function register(program: Command, global: Globals): void {
  addTargetFlags(
    program
      .command('status')
      .argument('[resource]', 'tickets, users, organizations, ticket_events, or all (every export of the account)')
      .description("one export's progress and position; exit code 1 when it failed, 2 when no worker answers for a running one"),
  ).action(async (resource: string | undefined, flags: TargetFlags) => {
    const ids = workflowIdsOf(resource, flags);
    await withClient(global(), async (client) => {
      const shown = [];
      for (const id of ids) {
        if (ids.length > 1 && !(await client.describeRun(id))) continue;
        shown.push(await show(client.handle(id), global().json));
      }
      if (!shown.length) throw new UserError(`There is no export ${ids.join(', ')}.`);
      // Said last, on stderr, as every "cannot tell" is: the export itself goes on waiting in Temporal.
      const noWorker = shown.find((s): s is UnavailableError => s instanceof UnavailableError);
      if (noWorker) throw noWorker;
      if (shown.includes('failed')) process.exitCode = EXIT.failed;
    });
  });
}

/** Prints one export's status; says whether it failed, or the error when no worker answered for it. */
async function show(handle: ExportHandle, json: boolean | undefined): Promise<'failed' | 'ok' | UnavailableError> {
  const workflowId = handle.workflowId;
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
  if (json) print(JSON.stringify({ ...described, state }));
  else {
    print(`${workflowId}  (${described.temporalStatus} in Temporal)`);
    if (state) describeState(workflowId, state);
    if (described.failure) print(`${described.temporalStatus === 'TERMINATED' ? 'terminated' : 'failed'}: ${described.failure}`);
    if (described.retrying) print(`retrying: ${described.retrying}`);
    const next = nextStep(workflowId, described.temporalStatus, state);
    if (next) print(next);
  }
  return noWorker ?? (FAILED.includes(described.temporalStatus) ? 'failed' : 'ok');
}

/** Ended without completing and without a cancel: exit code 1, as `run` gives. */
const FAILED: readonly TemporalStatus[] = ['FAILED', 'TERMINATED', 'TIMED_OUT'];

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
