/**
 * `pause`, `resume`, `cancel`: control an export by name, or with `all` every export of the account. Their words follow Temporal's: a cancelled
 * export is CANCELLED there (its memo keeps where it stopped), and `resume` restarts it from that point.
 */
import type { Command } from 'commander';
import { UserError } from '../../client/errors';
import type { ExportClient, ExportHandle, TemporalStatus } from '../../client/export-client';
import type { ExportState } from '../../workflows/types';
import { addTargetFlags, print, withClient, workflowIdsOf, type Globals, type TargetFlags } from '../context';
import { eachExport, notFound } from '../errors';
import { counted } from '../progress';
import { targetArgs } from '../target';

/** How long `cancel` waits for the page in flight to finish and the export to end as CANCELLED. */
const CANCEL_WAIT_MS = 10_000;
/** How long a scheduled workflow task may wait before `cancel` says no worker is there to take it up. */
const NO_WORKER_MS = 2_000;
/** How long `resume` waits for a worker to pick a restarted export up before saying it waits for one. */
const RESUME_START_WAIT_MS = 3_000;

/** "where it was cancelled", "where it failed", ...: a stopped export's end in Temporal's terms. */
const STOPPED_AT: Partial<Record<TemporalStatus, string>> = {
  CANCELLED: 'was cancelled',
  FAILED: 'failed',
  TERMINATED: 'was terminated',
  TIMED_OUT: 'timed out',
  COMPLETED: 'completed',
};

function progressOf(state: ExportState | undefined): string {
  return state ? ` after ${counted(state.progress.pages, 'page')} and ${counted(state.progress.records, 'record')}` : '';
}

/** The export, which must be running for `what`; otherwise one sentence saying what it is. */
async function runningExport(client: ExportClient, id: string, what: string): Promise<ExportHandle> {
  const handle = client.handle(id);
  const d = await handle.describe().catch(notFound(id));
  if (d.temporalStatus !== 'RUNNING') throw new UserError(`Export ${id} is not running (it is ${d.temporalStatus} in Temporal): nothing to ${what}.`);
  return handle;
}

/**
 * Waits up to `ms` for the export to end: its result; 'no worker' as soon as no worker has taken up
 * the workflow task the cancel scheduled (none is there to finish the page in flight); else undefined.
 */
async function endedWithin(client: ExportClient, handle: ExportHandle, ms: number) {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), ms);
  const noWorker = noWorkerTakesUp(client, handle.workflowId, timeout.signal).then((none) => {
    if (none) timeout.abort();
    return none;
  });
  try {
    const ended = await handle.result({ signal: timeout.signal }).catch(() => undefined);
    return ended ?? ((await noWorker) ? 'no worker' : undefined);
  } finally {
    clearTimeout(timer);
    timeout.abort();
    await noWorker;
  }
}

/** True once the workflow's pending task has waited NO_WORKER_MS for a worker; false when `signal` aborts first. */
async function noWorkerTakesUp(client: ExportClient, workflowId: string, signal: AbortSignal): Promise<boolean> {
  while (!signal.aborted) {
    const task = (await client.describeRun(workflowId).catch(() => undefined))?.raw.pendingWorkflowTask;
    const scheduled = task && !task.startedTime && task.scheduledTime ? tsMs(task.scheduledTime) : undefined;
    if (scheduled !== undefined && Date.now() - scheduled > NO_WORKER_MS) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

const tsMs = (t: { seconds?: unknown; nanos?: number | null }) => Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);

async function pause(client: ExportClient, id: string): Promise<void> {
  await (await runningExport(client, id, 'pause')).pause();
  print(`Paused ${id} (it stays RUNNING in Temporal, fetching nothing). Resume it with: zendesk-export resume ${targetArgs(id)}`);
}

async function resume(client: ExportClient, id: string): Promise<void> {
  const handle = client.handle(id);
  const d = await handle.describe().catch(notFound(id));
  if (d.temporalStatus === 'RUNNING') {
    if ((await handle.progress()).paused) {
      await handle.resume();
      print(`Resumed ${id}.`);
    } else print(`${id} is already running; nothing to resume.`);
    return;
  }
  const resumed = await client.resumeStopped(id);
  const waiting = resumed.pending ? ' No worker has picked it up yet; it starts when one does.' : '';
  const where = STOPPED_AT[d.temporalStatus] ?? 'stopped';
  print(`Restarted ${id} from where it ${where}${progressOf(d.state)}: a new run, RUNNING in Temporal.${waiting}`);
}

async function cancel(client: ExportClient, id: string): Promise<void> {
  const handle = await runningExport(client, id, 'cancel');
  await handle.cancel();
  // The export finishes its page in flight, records where it stopped, and ends as CANCELLED.
  const ended = await endedWithin(client, handle, CANCEL_WAIT_MS);
  const again = `zendesk-export resume ${targetArgs(id)}`;
  if (ended === 'no worker') {
    print(
      `Cancelling ${id}: no worker has taken the cancel up (is "zendesk-export worker" running on task queue "${client.taskQueue}"?); ` +
        `it ends as CANCELLED in Temporal once one finishes its page in flight. Restart it later from where it was cancelled with: ${again}`,
    );
  } else if (ended) print(`Cancelled ${id}${progressOf(ended.state)}: it is CANCELLED in Temporal, which keeps where it stopped. Restart it from there with: ${again}`);
  else {
    print(
      `Cancelling ${id}: it ends as CANCELLED in Temporal once its batch ends: when a worker finishes its page in flight, or, for a follow export resting between polls, at its next poll's time (that poll is not made). ` +
        `Restart it later from where it was cancelled with: ${again}`,
    );
  }
}

const RESOURCE_ARG = 'tickets, users, organizations, ticket_events, or all (every export of the account)';

export function register(program: Command, global: Globals): void {
  const commands = [
    { name: 'pause', act: pause, description: 'pause an export after the page in flight', waits: {} },
    { name: 'resume', act: resume, description: 'resume a paused export, or restart a stopped one from where it stopped', waits: { startTimeoutMs: RESUME_START_WAIT_MS } },
    { name: 'cancel', act: cancel, description: 'stop an export; resume continues from where it stopped', waits: {} },
  ];
  for (const { name, act, description, waits } of commands) {
    addTargetFlags(program.command(name).argument('[resource]', RESOURCE_ARG).description(description)).action(
      async (resource: string | undefined, flags: TargetFlags) => {
        const ids = workflowIdsOf(resource, flags);
        await withClient(global(), (client) => eachExport(client, ids, name, (id) => act(client, id)), waits);
      },
    );
  }
}
