/** What an export's history says of its batches, read back through the export client, and a poll until something holds. */
import type { BatchInput, BatchResult } from '../../contract/page-activity';
import type { ExportClient } from '../../client';

async function events(client: ExportClient, workflowId: string) {
  return (await client.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

/** The inputs of the export's batches, in the order they were scheduled. */
export async function scheduledBatches(client: ExportClient, workflowId: string): Promise<BatchInput[]> {
  const converter = client.client.options.loadedDataConverter.payloadConverter;
  return (await events(client, workflowId)).flatMap((e) =>
    e.activityTaskScheduledEventAttributes ? [converter.fromPayload<BatchInput>(e.activityTaskScheduledEventAttributes.input!.payloads![0]!)] : [],
  );
}

/** The results of the export's batches that completed, in order. */
export async function completedBatches(client: ExportClient, workflowId: string): Promise<BatchResult[]> {
  const converter = client.client.options.loadedDataConverter.payloadConverter;
  return (await events(client, workflowId)).flatMap((e) =>
    e.activityTaskCompletedEventAttributes ? [converter.fromPayload<BatchResult>(e.activityTaskCompletedEventAttributes.result!.payloads![0]!)] : [],
  );
}

/** Batches that have ended (completed, failed, cancelled or timed out). */
export async function closedBatches(client: ExportClient, workflowId: string): Promise<number> {
  return (await events(client, workflowId)).filter(
    (e) => e.activityTaskCompletedEventAttributes || e.activityTaskFailedEventAttributes || e.activityTaskCanceledEventAttributes || e.activityTaskTimedOutEventAttributes,
  ).length;
}

/** Reads until `done` holds (a failed read counts as not yet), or fails after `timeoutMs` with the last value seen. */
export async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined && done(value)) return value;
    if (Date.now() > deadline) throw new Error(`Timed out; last seen: ${JSON.stringify(value)?.slice(0, 300)} … ${JSON.stringify(value)?.slice(-500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
