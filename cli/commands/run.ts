/** `run` and `start`: start exports; `run` then shows their progress until they end. */
import type { Command } from 'commander';
import type { ExportClient } from '../../client/export-client';
import { toExportInput, type ExportRequest } from '../../client/request';
import { endpointSpec } from '../../zendesk/endpoints';
import { addExportFlags, print, requestsOf, withClient, type ExportFlags, type Globals } from '../context';
import { checkOutputFolder, checkOutputPath, probeZendesk } from '../preflight';
import { watch } from '../watch';

/** `run` waits this long for a worker before it shows the export as waiting for one (it goes on waiting). */
const RUN_START_WAIT_MS = 3_000;

/**
 * The checks before a start: a folder that can never hold files is refused always; unless --no-probe,
 * the folder must take files (local, so first) and Zendesk must answer and accept the credentials.
 */
async function preflight(requests: ExportRequest[], flags: ExportFlags): Promise<void> {
  const destination = toExportInput(requests[0]!).destination;
  checkOutputPath(destination);
  if (!flags.probe) return;
  await checkOutputFolder(destination);
  await probeZendesk(requests[0]!.account);
}

/**
 * `--rate-limit` is the account's budget from now on, as `budget` sets it: a start that joins an
 * account whose exports already run would otherwise keep the budget they started with.
 */
async function applyRateLimit(client: ExportClient, requests: readonly ExportRequest[]): Promise<void> {
  const budget = requests[0]!.rateLimit;
  if (!budget) return;
  const buckets = new Set(requests.map((r) => endpointSpec(toExportInput(r).endpoint).bucket));
  for (const bucket of buckets) await client.setBudget(requests[0]!.account, bucket, budget);
}

export function register(program: Command, global: Globals): void {
  addExportFlags(
    program
      .command('run')
      .argument('[resources...]', 'tickets, users, organizations, ticket_events, or all', ['tickets'])
      .description('start exports and show their progress until they end (Ctrl-C detaches)'),
  ).action(async (names: string[], flags: ExportFlags) => {
    const requests = requestsOf(names, flags);
    await preflight(requests, flags);
    process.exitCode = await withClient(
      global(),
      async (client) => {
        const handles = await client.startMany(requests);
        await applyRateLimit(client, requests);
        for (const h of handles) if (h.alreadyRunning) process.stderr.write(`${h.workflowId} is already running; watching it.\n`);
        return watch(client, handles, { json: global().json });
      },
      { startTimeoutMs: RUN_START_WAIT_MS },
    );
  });

  addExportFlags(
    program
      .command('start')
      .argument('[resources...]', 'tickets, users, organizations, ticket_events, or all', ['tickets'])
      .description('start exports and return at once'),
  ).action(async (names: string[], flags: ExportFlags) => {
    const requests = requestsOf(names, flags);
    await preflight(requests, flags);
    await withClient(global(), async (client) => {
      const handles = await client.startMany(requests);
      await applyRateLimit(client, requests);
      for (const h of handles) {
        if (global().json) print(JSON.stringify({ workflowId: h.workflowId, alreadyRunning: h.alreadyRunning, pending: h.pending }));
        else if (h.alreadyRunning) print(`${h.workflowId} is already running (nothing new started).`);
        else if (h.pending) print(`Requested ${h.workflowId}; no worker has picked it up yet (is "zendesk-export worker" running on task queue "${client.taskQueue}"?). It starts when one does.`);
        else print(`Started ${h.workflowId}`);
      }
    });
  });
}
