/**
 * The multi-service Temporal cluster of cluster/: history, matching, frontend and worker as separate
 * processes on PostgreSQL, behind a TLS frontend. A workflow runs end to end while history is killed
 * mid-run and the frontend is restarted, a visibility query on a custom search attribute finds it, the
 * CLI reaches the frontend through a server-TLS env-config profile, and once the cluster is stopped none
 * of its processes is left.
 *
 * `npm run test:cluster` builds the server first (cluster/build-temporal.sh). Elsewhere (a plain `jest`
 * run) the file is skipped while the server is not built, since building it takes Go and minutes. The UI
 * check runs when the build script managed to build the UI server, which it does only on a best-effort basis.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, type Duration } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { DEFAULT_TOOLS_DIR, startCluster, type Cluster } from '../../cluster';
import { DATABASES } from '../../cluster/config';
import { SEARCH_ATTRIBUTE_NAMES } from '../../workflows/ids';
import { runCli } from '../helpers/cli';
import { bundleWorkflows, installTestRuntime } from '../helpers/temporal';
import * as activities from '../toolchain/activities';
import { sleepAndGreet } from '../toolchain/workflows';

const WORKFLOWS = path.join(__dirname, '..', 'toolchain', 'workflows.ts');
const TASK_QUEUE = `cluster-smoke-${process.pid}`;
const ACCOUNT = `cluster-smoke-${process.pid}-${Date.now()}`;
const WORKFLOW_IDS = [`${ACCOUNT}-after-restarts`, `${ACCOUNT}-crash`];
const accountKey = defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.account, SearchAttributeType.KEYWORD);

const BUILT = existsSync(path.join(DEFAULT_TOOLS_DIR, 'bin', 'temporal-server'));
const UI_BUILT = existsSync(path.join(DEFAULT_TOOLS_DIR, 'bin', 'temporal-ui-server'));
const REQUIRED = process.env.npm_lifecycle_event === 'test:cluster';
if (!BUILT && !REQUIRED) console.warn('test/cluster skipped: the Temporal server is not built (npm run test:cluster builds it).');
const suite = BUILT || REQUIRED ? describe : describe.skip;

installTestRuntime();

let cluster: Cluster;
let connection: Connection | undefined;
let nativeConnection: NativeConnection | undefined;
let client: Client;
/** Every process the cluster ran, restarted ones included: all must be gone after stop(). */
const pidsSeen = new Set<number>();

const recordPids = () => Object.values(cluster.pids()).forEach((pid) => pid !== undefined && pidsSeen.add(pid));

/** Alive and not a zombie waiting to be reaped (Linux /proc). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe().catch(() => undefined);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000}s\n${cluster.output().slice(-4_000)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

suite('a multi-service cluster on PostgreSQL', () => {
  beforeAll(async () => {
    cluster = await startCluster({ ui: UI_BUILT });
    recordPids();
    connection = await Connection.connect({ address: cluster.address, tls: cluster.tls });
    nativeConnection = await NativeConnection.connect({ address: cluster.address, tls: cluster.tls });
    client = new Client({ connection, namespace: cluster.namespace });
  }, 5 * 60_000);

  afterAll(async () => {
    await connection?.close();
    await nativeConnection?.close();
    if (!cluster) return;
    recordPids();
    await cluster.stop();
    const left = await eventually('the cluster processes to end', 15_000, async () => {
      const living = [...pidsSeen].filter(alive);
      return living.length === 0 ? living : undefined;
    }).catch(() => [...pidsSeen].filter(alive));
    expect(left).toEqual([]);
  });

  test('four services in their own processes, on PostgreSQL with four history shards, reachable only over TLS', async () => {
    const pids = cluster.pids();
    const services = [pids.history, pids.matching, pids.frontend, pids.worker];
    expect(services.every((pid) => pid !== undefined && alive(pid))).toBe(true);
    expect(new Set(services).size).toBe(4);
    expect(Object.values(cluster.cpuSeconds()).every((seconds) => seconds > 0)).toBe(true);

    const { host, port, user, password } = cluster.postgres;
    const db = new PgClient({ host, port, user, password, database: DATABASES.default });
    await db.connect();
    try {
      const { rows } = await db.query<{ count: string }>('SELECT count(*) FROM shards');
      expect(Number(rows[0]?.count)).toBe(4);
    } finally {
      await db.end();
    }

    await expect(Connection.connect({ address: cluster.address, connectTimeout: 3_000 })).rejects.toThrow();
  });

  test('a workflow completes across a history crash and a frontend restart, and visibility finds it by search attribute', async () => {
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: cluster.namespace,
      taskQueue: TASK_QUEUE,
      workflowBundle: await bundleWorkflows(WORKFLOWS),
      activities,
    });
    const run = async (name: string, duration: Duration, sleepStarted?: (handle: WorkflowHandle<typeof sleepAndGreet>) => Promise<void>) => {
      const handle = await client.workflow.start(sleepAndGreet, {
        taskQueue: TASK_QUEUE,
        workflowId: `${ACCOUNT}-${name}`,
        args: [name, duration],
        typedSearchAttributes: [{ key: accountKey, value: ACCOUNT }],
      });
      await sleepStarted?.(handle);
      return handle.result();
    };

    const result = await worker.runUntil(async () => {
      const first = await run('crash', '15 seconds', async (wf) => {
        // The activity is done and the durable timer is set: history dies with it pending.
        await eventually('the timer to start', 60_000, async () => {
          const { events } = await wf.fetchHistory();
          return events?.some((e) => e.timerStartedEventAttributes) ? true : undefined;
        });
        const before = cluster.pids();
        await cluster.restartService('history', { hard: true });
        await cluster.restartService('frontend');
        recordPids();
        const after = cluster.pids();
        expect(after.history).not.toBe(before.history);
        expect(after.frontend).not.toBe(before.frontend);
        expect(alive(before.history!)).toBe(false);
        expect(alive(before.frontend!)).toBe(false);
      });
      // The worker's polls came back through the new frontend: a second workflow runs as well.
      await run('after-restarts', '1 second');
      return first;
    });

    expect(result.greeting).toBe('hello crash');
    expect(result.sleptMs).toBeGreaterThanOrEqual(15_000);

    const query = `${SEARCH_ATTRIBUTE_NAMES.account} = "${ACCOUNT}" AND ExecutionStatus = "Completed"`;
    const found = await eventually('the workflows in visibility', 60_000, async () => {
      const ids: string[] = [];
      for await (const execution of client.workflow.list({ query })) ids.push(execution.workflowId);
      return ids.length === 2 ? ids.sort() : undefined;
    });
    expect(found).toEqual(WORKFLOW_IDS);
  });

  test('a server-TLS env-config profile (the CA and the server name, no client certificate) takes the CLI to the cluster', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-profile-'));
    try {
      const ca = path.join(dir, 'ca.pem');
      writeFileSync(ca, cluster.tls.serverRootCACertificate);
      const profile = (tls: string[]) =>
        ['[profile.tls]', `address = "${cluster.address}"`, `namespace = "${cluster.namespace}"`, '', '[profile.tls.tls]', ...tls, ''].join('\n');
      const file = path.join(dir, 'temporal.toml');
      const list = () => runCli(['--profile', 'tls', 'list', '--account', 'nobody'], { TEMPORAL_CONFIG_FILE: file }, { cwd: dir });

      writeFileSync(file, profile([`server_ca_cert_path = "${ca}"`, `server_name = "${String(cluster.tls.serverNameOverride)}"`]));
      const reached = await list();
      expect(reached).toMatchObject({ code: 0, stderr: '' });
      expect(reached.stdout.trim()).toBe('No exports.');

      // Without the CA the same profile is refused: the CA in the file is what lets it in.
      writeFileSync(file, profile([`server_name = "${String(cluster.tls.serverNameOverride)}"`]));
      const refused = await list();
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/Cannot reach Temporal at 127\.0\.0\.1:\d+/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  (UI_BUILT ? test : test.skip)('the Web UI, on 127.0.0.1, lists those workflows through the TLS frontend', async () => {
    expect(cluster.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const query = encodeURIComponent(`${SEARCH_ATTRIBUTE_NAMES.account} = "${ACCOUNT}"`);
    const response = await fetch(`${cluster.uiUrl}/api/v1/namespaces/${cluster.namespace}/workflows?query=${query}`);
    expect(response.status).toBe(200);
    const { executions = [] } = (await response.json()) as { executions?: { execution: { workflowId: string } }[] };
    expect(executions.map((e) => e.execution.workflowId).sort()).toEqual(WORKFLOW_IDS);
  });
});
