/**
 * `pause`, `resume`, `cancel`: control an export by name. Their words follow Temporal's: a cancelled
 * export is CANCELLED there (its memo keeps where it stopped), and `resume` restarts it from that point.
 */
import type { Command } from 'commander';
import { UserError } from '../../client/errors';
import type { ExportClient, ExportHandle, TemporalStatus } from '../../client/export-client';
import type { ExportState } from '../../workflows/types';
import { addTargetFlags, print, withClient, workflowIdOf, type Globals, type TargetFlags } from '../context';
import { notFound } from '../errors';
import { counted } from '../progress';
import { targetArgs } from '../target';

/** How long `cancel` waits for the page in flight to finish and the export to end as CANCELLED. */
const CANCEL_WAIT_MS = 10_000;
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

/** Waits up to `ms` for the export to end; its result, or undefined while it has not. */
async function endedWithin(handle: ExportHandle, ms: number) {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), ms);
  try {
    return await handle.result({ signal: timeout.signal }).catch(() => undefined);
  } finally {
    clearTimeout(timer);
  }
}

export function register(program: Command, global: Globals): void {
  addTargetFlags(program.command('pause').argument('[resource]').description('pause an export after the page in flight')).action(
    async (resource: string | undefined, flags: TargetFlags) => {
      const id = workflowIdOf(resource, flags);
      await withClient(global(), async (client) => {
        await (await runningExport(client, id, 'pause')).pause();
        print(`Paused ${id} (it stays RUNNING in Temporal, fetching nothing). Resume it with: zendesk-export resume ${targetArgs(id)}`);
      });
    },
  );

  addTargetFlags(
    program.command('resume').argument('[resource]').description('resume a paused export, or restart a stopped one from where it stopped'),
  ).action(async (resource: string | undefined, flags: TargetFlags) => {
    const id = workflowIdOf(resource, flags);
    await withClient(
      global(),
      async (client) => {
        const handle = client.handle(id);
        const d = await handle.describe().catch(notFound(id));
        if (d.temporalStatus === 'RUNNING') {
          if (!(await handle.progress()).paused) return print(`${id} is already running; nothing to resume.`);
          await handle.resume();
          return print(`Resumed ${id}.`);
        }
        const resumed = await client.resumeStopped(id);
        const waiting = resumed.pending ? ' No worker has picked it up yet; it starts when one does.' : '';
        const where = STOPPED_AT[d.temporalStatus] ?? 'stopped';
        print(`Restarted ${id} from where it ${where}${progressOf(d.state)}: a new run, RUNNING in Temporal.${waiting}`);
      },
      { startTimeoutMs: RESUME_START_WAIT_MS },
    );
  });

  addTargetFlags(program.command('cancel').argument('[resource]').description('stop an export; resume continues from where it stopped')).action(
    async (resource: string | undefined, flags: TargetFlags) => {
      const id = workflowIdOf(resource, flags);
      await withClient(global(), async (client) => {
        const handle = await runningExport(client, id, 'cancel');
        await handle.cancel();
        // The export finishes its page in flight, records where it stopped, and ends as CANCELLED.
        const ended = await endedWithin(handle, CANCEL_WAIT_MS);
        const resume = `zendesk-export resume ${targetArgs(id)}`;
        if (ended) print(`Cancelled ${id}${progressOf(ended.state)}: it is CANCELLED in Temporal, which keeps where it stopped. Restart it from there with: ${resume}`);
        else print(`Cancelling ${id}: it ends as CANCELLED in Temporal once a worker finishes its page in flight. Restart it later from where it was cancelled with: ${resume}`);
      });
    },
  );
}
