/**
 * An app that embeds zendesk-export: it runs its own worker and exports an account's tickets and
 * users into ./export, printing progress, until both have ended. An export of the account that is
 * already running is attached to, and said so (one in follow mode never ends). Ctrl-C stops the app
 * (exit 0); the exports go on in Temporal, and running the app again attaches to them.
 *
 * In a checkout (a Temporal server running, e.g. `temporal server start-dev`):
 *
 *   npm run build
 *   TEMPORAL_ADDRESS=127.0.0.1:7233 ZENDESK_SUBDOMAIN=acme ZENDESK_EMAIL=... ZENDESK_API_TOKEN=... \
 *     node dist/examples/embed.js
 *
 * In an app of your own, import from 'zendesk-export' and 'zendesk-export/worker' instead.
 */
import { NativeConnection, Runtime } from '@temporalio/worker';
import { ExportClient, resolveTemporalOptions, type ExportHandle } from '../client';
import { createExportWorker } from '../worker';

async function main(): Promise<void> {
  const account = process.env.ZENDESK_SUBDOMAIN ?? 'acme';
  // Ctrl-C is the app's to handle: it stops following the exports, and then the worker stops. (The
  // SDK's own handler would stop the worker under the wait, which then never resolves.)
  Runtime.install({ shutdownSignals: [] });
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());

  const temporal = resolveTemporalOptions();
  const connection = await NativeConnection.connect(temporal.connectionOptions);
  const exports = await ExportClient.connect();
  try {
    const worker = await createExportWorker({ connection, namespace: temporal.namespace, taskQueue: temporal.taskQueue });
    await worker.runUntil(follow(exports, account, stop.signal));
  } finally {
    await exports.close();
    await connection.close();
  }
}

/** Starts (or attaches to) the exports, and prints their progress until they end or `signal` aborts. */
async function follow(exports: ExportClient, account: string, signal: AbortSignal): Promise<void> {
  const handles = await exports.startMany(
    (['tickets', 'users'] as const).map((resource) => ({ account, resource, startTime: '2024-01-01', destination: './export' })),
  );
  for (const h of handles) console.log(await attached(h));
  const timer = setInterval(async () => {
    for (const h of handles) {
      const p = await h.progress().catch(() => undefined);
      if (p) console.log(`${h.workflowId}: ${p.status}, ${p.progress.records} records`);
    }
  }, 2000);
  try {
    for (const h of handles) {
      const { outcome, state } = await h.result({ signal });
      console.log(`${h.workflowId}: ${outcome}, ${state.progress.records} records in ${state.progress.pages} pages`);
    }
  } catch (err) {
    if (!signal.aborted) throw err;
    console.log('Stopped following; the exports go on in Temporal (run this again to attach to them).');
  } finally {
    clearInterval(timer);
  }
}

/** What the app is following: an export it started, or one that was running already (and how). */
async function attached(h: ExportHandle): Promise<string> {
  if (!h.alreadyRunning) return `Started ${h.workflowId}.`;
  const { startTime } = await h.describe();
  const following = (await h.progress().catch(() => undefined))?.status === 'following';
  const how = following ? ' It is in follow mode and never ends: Ctrl-C stops this app, and the export goes on.' : ' It keeps the options it was started with.';
  return `Attached to ${h.workflowId}, already running since ${startTime.toISOString()}.${how}`;
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
