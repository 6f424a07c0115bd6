/**
 * The namespace authorizer on the cluster (cluster/authz-server, `startCluster({ authorizer: true })`):
 * the frontend tells workers from other clients by the subject CN of their mTLS client certificate. The
 * two worker processes hold the worker certificate and run an export to completion; a client holding
 * another certificate starts and describes the export, but the server refuses it (PermissionDenied) when
 * it completes the running page activity by its ID or sends the coordinator's internal `setShare`
 * signal, and the export loses nothing.
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ExportClient } from '../../client/export-client';
import { exportWorkflowId } from '../../workflows/ids';
import { clusterSuite, eventually, expectExactlyOnce, useClusterStack } from './stack';

const ACCOUNT = 'guarded';
const SIZES = { tickets: 30, users: 200, organizations: 20, ticket_events: 30 };
const ALL = { supportTypeScope: 'all' as const };
/** Slow pages, so that a page activity is in flight when the client tries to complete it. */
const LATENCY_MS = 150;
/** The non-worker client's identity, to look for in the export's history. */
const CLIENT_IDENTITY = 'not-a-worker';
/** gRPC's PERMISSION_DENIED, the status an authorizer's denial answers with. */
const PERMISSION_DENIED = 7;

const stack = useClusterStack({ accounts: [ACCOUNT], simulator: { sizes: SIZES }, cluster: { authorizer: true } });

/** The gRPC status a call was refused with (the SDK wraps some errors, keeping the gRPC one as cause). */
async function refusal(call: Promise<unknown>): Promise<{ code?: number; details?: string }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  for (let e = err as { code?: number; details?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === 'number') return { code: e.code, details: e.details };
  }
  return { details: `not refused: ${String(err)}` };
}

clusterSuite('a namespace authorizer that tells workers from other clients', () => {
  let connection: Connection | undefined;
  afterAll(() => connection?.close());

  test('a client without the worker certificate starts and describes an export, but may not complete its activity or send setShare; the workers finish it exactly once', async () => {
    const { cluster } = stack;
    expect(cluster.nonWorkerTls?.clientCertPair).toBeDefined();
    connection = await Connection.connect({ address: cluster.address, tls: cluster.nonWorkerTls });
    const client = new ExportClient({ client: new Client({ connection, namespace: cluster.namespace, identity: CLIENT_IDENTITY }), taskQueue: stack.taskQueue, startTimeoutMs: 60_000 });
    stack.sim.setFaults({ latencyMs: LATENCY_MS });

    const out = path.join(stack.root, 'guarded');
    const id = exportWorkflowId(ACCOUNT, 'users', 'users_cursor');
    const handle = await client.start({ account: ACCOUNT, resource: 'users', startTime: 0, perPage: 5, destination: out, rateLimit: { requests: 1000, seconds: 1 } });
    expect(handle.workflowId).toBe(id);
    expect((await client.handle(id).describe()).temporalStatus).toBe('RUNNING');

    // A page activity under way on a worker: the client can see it, as any client can.
    const pending = await eventually(
      'a page activity in flight',
      async () => {
        const { raw } = await client.client.workflow.getHandle(id).describe();
        const running = raw.pendingActivities?.find((a) => a.lastWorkerIdentity && a.activityId);
        return running ? { activityId: running.activityId!, runId: raw.workflowExecutionInfo!.execution!.runId! } : undefined;
      },
      60_000,
      50,
    );

    // A forged end of the stream, by ID: refused by the server before it reaches the workflow.
    const forged = await refusal(
      client.client.workflowService.respondActivityTaskCompletedById({
        namespace: cluster.namespace,
        workflowId: id,
        runId: pending.runId,
        activityId: pending.activityId,
        identity: CLIENT_IDENTITY,
        result: { payloads: [client.client.options.loadedDataConverter.payloadConverter.toPayload({ stop: 'end-of-stream' })] },
      }),
    );
    expect(forged).toMatchObject({ code: PERMISSION_DENIED });
    expect(forged.details).toMatch(/unauthorized/i);

    // A share of the account's budget, as only its coordinator sends.
    const share = await refusal(client.client.workflow.getHandle(id).signal('setShare', 1, { requests: 1000, seconds: 1 }, [], 1_000_000));
    expect(share).toMatchObject({ code: PERMISSION_DENIED });

    const ended = await eventually(
      'the export to complete',
      async () => {
        const d = await client.handle(id).describe();
        return d.temporalStatus === 'RUNNING' ? undefined : d;
      },
      300_000,
      500,
    );
    expect(ended.temporalStatus).toBe('COMPLETED');
    expectExactlyOnce(path.join(out, ACCOUNT), 'users', stack.sim.expected(ACCOUNT, 'users', ALL));
    expect(ended.state?.progress.records).toBe(stack.sim.expected(ACCOUNT, 'users', ALL).length);

    // Nothing the client sent reached the export's history: every activity result and signal came from a worker.
    const events = (await stack.client.client.workflow.getHandle(id).fetchHistory()).events ?? [];
    const identities = events.flatMap((e) => [e.activityTaskCompletedEventAttributes?.identity, e.workflowExecutionSignaledEventAttributes?.identity]).filter(Boolean);
    expect(identities.length).toBeGreaterThan(0);
    expect(identities).not.toContain(CLIENT_IDENTITY);
  });
});
