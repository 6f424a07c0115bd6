/**
 * An app that embeds zendesk-export: it runs its own worker and exports an account's tickets and
 * users into a folder, printing progress. Run it with a Temporal server and the worker's credentials:
 *
 *   TEMPORAL_ADDRESS=127.0.0.1:7233 ZENDESK_SUBDOMAIN=acme ZENDESK_EMAIL=... ZENDESK_API_TOKEN=... \
 *     node dist/examples/embed.js
 */
import { NativeConnection } from '@temporalio/worker';
import { ExportClient, resolveTemporalOptions } from '../client';
import { createExportWorker } from '../worker';

async function main(): Promise<void> {
  const account = process.env.ZENDESK_SUBDOMAIN ?? 'acme';
  const temporal = resolveTemporalOptions();
  const connection = await NativeConnection.connect(temporal.connectionOptions);
  const worker = await createExportWorker({ connection, namespace: temporal.namespace, taskQueue: temporal.taskQueue });
  const exports = await ExportClient.connect();
  await worker.runUntil(async () => {
    const handles = await exports.startMany(
      (['tickets', 'users'] as const).map((resource) => ({ account, resource, startTime: '2024-01-01', destination: './export' })),
    );
    const timer = setInterval(async () => {
      for (const h of handles) {
        const p = await h.progress().catch(() => undefined);
        if (p) console.log(`${h.workflowId}: ${p.status}, ${p.progress.records} records`);
      }
    }, 2000);
    try {
      for (const h of handles) console.log(await h.result());
    } finally {
      clearInterval(timer);
    }
  });
  await exports.close();
  await connection.close();
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
