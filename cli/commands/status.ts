/**
 * `status`: one export's state, position and notes. An ended export is described from what Temporal
 * keeps (its memo and its failure), with no worker; a running one is asked, and when no worker answers
 * that is said, with exit code 2. A failed export exits 1. `all` shows each export of the account.
 */
import type { Command } from 'commander';
import { parseExportWorkflowId } from '../../workflows/ids';
import { UnavailableError } from '../../client/errors';
import type { ExportHandle, ExportSummary, TemporalStatus } from '../../client/export-client';
import type { ExportState } from '../../workflows/types';
import { addTargetFlags, print, withClient, workflowIdsOf, type Globals, type TargetFlags } from '../context';
import { noExport, notFound } from '../errors';
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
      // Asked all at once (each query may wait for a worker), shown in order.
      const found = await Promise.all(ids.map(async (id) => (ids.length > 1 && !(await client.describeRun(id)) ? undefined : statusOf(client.handle(id)))));
      const shown = found.filter((s) => s !== undefined);
      if (!shown.length) throw noExport(ids);
      for (const s of shown) show(s, global().json);
      // Said last, on stderr, as every "cannot tell" is: the export itself goes on waiting in Temporal.
      const noWorker = shown.find((s) => s.noWorker)?.noWorker;
      if (noWorker) throw noWorker;
      if (shown.some((s) => FAILED.includes(s.described.temporalStatus))) process.exitCode = EXIT.failed;
    });
  });
}

interface Status {
  described: ExportSummary;
  state?: ExportState;
  /** No worker answered for the running export. */
  noWorker?: UnavailableError;
}

/** An export's status: from what Temporal keeps, or from its worker while it runs. */
async function statusOf(handle: ExportHandle): Promise<Status> {
  const described = await handle.describe().catch(notFound(handle.workflowId));
  if (described.state || described.temporalStatus !== 'RUNNING') return { described, state: described.state };
  try {
    return { described, state: await handle.progress() };
  } catch (err) {
    if (!(err instanceof UnavailableError)) throw err;
    return { described, noWorker: err };
  }
}

function show({ described, state }: Status, json: boolean | undefined): void {
  const { workflowId } = described;
  if (json) return void print(JSON.stringify({ ...described, state }));
  print(`${workflowId}  (${described.temporalStatus} in Temporal)`);
  if (state) describeState(workflowId, state);
  if (described.failure) print(`${described.temporalStatus === 'TERMINATED' ? 'terminated' : 'failed'}: ${described.failure}`);
  if (described.retrying) print(`retrying: ${described.retrying}`);
  const next = nextStep(workflowId, described.temporalStatus, state);
  if (next) print(next);
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
    case 'PENDING':
      return 'Requested; no worker has taken it in yet: it starts when "zendesk-export worker" runs.';
    case 'CANCELLED':
      return `Cancelled${where}; ${resume} restarts it from where it was cancelled.`;
    case 'FAILED':
      if (state?.status === 'needs-reauthorization') {
        return `Needs re-authorization${where}: an admin runs \`zendesk-export accounts connect ${parseExportWorkflowId(workflowId)?.account}\`, then ${resume} restarts it from where it failed.`;
      }
      return state ? `Failed${where}; once the cause is fixed, ${resume} restarts it from where it failed.` : undefined;
    case 'TERMINATED':
      return state ? `Terminated${where}; ${resume} restarts it from where it stopped.` : undefined;
    default:
      return undefined;
  }
}
