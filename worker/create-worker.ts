/**
 * The export worker: the workflows, and the activities with this process's credentials. A testable
 * factory; `worker/main.ts` is the process around it.
 */
import { Runtime, Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityOptions } from '../activities';
import type { PageEvent } from '../activities/fetch-page';

export interface ExportWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue: string;
  activities?: ActivityOptions;
  /** A bundle made once with bundleWorkflowCode (tests, fast restarts); else the workflows are bundled now. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Extra Worker options (concurrency, shutdown times). */
  worker?: Partial<WorkerOptions>;
}

/** The workflows module, for bundling. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

export async function createExportWorker(options: ExportWorkerOptions): Promise<Worker> {
  const observe = exportMetrics();
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({
      ...options.activities,
      observe: (event) => {
        observe(event);
        options.activities?.observe?.(event);
      },
    }),
    shutdownGraceTime: '10 seconds',
    ...options.worker,
  });
}

/** Records, pages, 429s and Retry-After waits per account and resource, on the runtime's meter. */
function exportMetrics(): (event: PageEvent) => void {
  const meter = Runtime.instance().metricMeter;
  const records = meter.createCounter('zendesk_export_records', 'records', 'Records written');
  const pages = meter.createCounter('zendesk_export_pages', 'pages', 'Pages fetched and written');
  const pageSeconds = meter.createHistogram('zendesk_export_page_duration', 'float', 's', 'Fetch and write time of a page');
  const limited = meter.createCounter('zendesk_export_rate_limited', 'responses', 'HTTP 429 answers');
  const waited = meter.createCounter('zendesk_export_retry_after', 's', 'Seconds of Retry-After asked for');
  return (event) => {
    const tags = { account: event.account, resource: event.resource };
    if (event.kind === 'page') {
      records.add(event.records, tags);
      pages.add(1, tags);
      pageSeconds.record(event.seconds, tags);
    } else {
      limited.add(1, tags);
      waited.add(event.retryAfterSeconds, tags);
    }
  };
}
