/**
 * What each cluster test file runs against: one multi-service cluster (cluster/) with mutual TLS and a
 * namespace of its own, the Zendesk simulator, and two worker processes of the real CLI that reach the cluster the way a
 * deployment beside Temporal Cloud does, through settings rather than code:
 * - worker "profile": an env-config profile (TEMPORAL_CONFIG_FILE + `--profile cluster`, with
 *   `server_ca_cert_path`, `server_name` and a client certificate), `--task-queue`, `--output-root`, and
 *   Zendesk credentials from ZENDESK_ACCOUNTS (ZENDESK_SUBDOMAIN for one account) + ZENDESK_EMAIL/ZENDESK_API_TOKEN;
 * - worker "env": the SDK's TEMPORAL_* variables, ZENDESK_EXPORT_TASK_QUEUE, ZENDESK_EXPORT_OUTPUT_ROOT,
 *   and a ZENDESK_CREDENTIALS_FILE keyed by account.
 * Both have the Postgres target "warehouse" (ZENDESK_EXPORT_POSTGRES_WAREHOUSE + PGPASSWORD).
 * The CLI runs as a subprocess with the same profile file and `--profile`. The test process itself uses
 * a client made in code only to watch and check. Everything is started in beforeAll and stopped in
 * afterAll, which asserts that no process of it is left.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { Client, Connection } from '@temporalio/client';
import { DEFAULT_TOOLS_DIR, startCluster, type Cluster, type ClusterOptions } from '../../cluster';
import { ExportClient } from '../../client/export-client';
import { DEFAULT_API_TOKEN, SIMULATOR_RATE_CEILING, simulatorWorkerEnv, startSimulator, type Simulator, type SimulatorOptions } from '../../simulator';
import { RESOURCE_SPECS, type Resource } from '../../zendesk/endpoints';
import type { ExportState } from '../../workflows/types';
import { runCli, type CliResult } from '../helpers/cli';
import { duplicates, newestById, readRecords, versionKeys } from '../helpers/output';
import { installTestRuntime } from '../helpers/temporal';
import { alive, livingInGroups, processTrees } from './procfs';
import { startClusterWorker, type ClusterWorker } from './worker-processes';

export const PROFILE = 'cluster';
/** A namespace of its own, as a production cluster or Temporal Cloud has, rather than `default`. */
export const NAMESPACE = 'zendesk-exports';
/** The workers' Postgres target (`--dest postgres:warehouse`): a database in the cluster's own PostgreSQL. */
export const WAREHOUSE = { target: 'warehouse', database: 'zendesk_export' } as const;

/**
 * These files take minutes, so they run under jest.cluster.config.js (`npm run test:cluster`, which
 * builds the server first) and are skipped by a plain `jest` run.
 */
const SELECTED = process.env.ZENDESK_EXPORT_CLUSTER_SUITE === '1';
export const clusterSuite = SELECTED ? describe : describe.skip;
if (SELECTED && !existsSync(path.join(DEFAULT_TOOLS_DIR, 'bin', 'temporal-server'))) {
  throw new Error('The Temporal server is not built: run `bash cluster/build-temporal.sh` (npm run test:cluster does).');
}
/** A folder to keep each worker's output in after the run (ZENDESK_EXPORT_CLUSTER_LOGS), for looking into a failure. */
const LOG_DIR = process.env.ZENDESK_EXPORT_CLUSTER_LOGS;

export interface StackOptions {
  /** The Zendesk accounts (subdomains) the simulator serves and both workers hold credentials for. */
  accounts: string[];
  simulator?: SimulatorOptions;
  cluster?: ClusterOptions;
}

export interface ClusterStack {
  readonly cluster: Cluster;
  readonly sim: Simulator;
  /** The workers' output root, and the CLI's working folder. */
  readonly root: string;
  readonly taskQueue: string;
  /** The env-config file: `[profile.cluster]` with the address, namespace and TLS files. */
  readonly profileFile: string;
  /** Files a TLS client needs: the cluster's CA, a client certificate and key. */
  readonly tlsFiles: { ca: string; cert: string; key: string };
  /** A client made in code, for the test's own checks. */
  readonly client: ExportClient;
  /** The running workers, by name; restarted ones replace their name. */
  readonly workers: Map<string, ClusterWorker>;
  /** Starts (or restarts) worker "profile" or "env", and waits until it polls. */
  startWorker(name: WorkerName): Promise<ClusterWorker>;
  /** The CLI, `--profile cluster`, the profile file and task queue in its environment, the root as working folder. */
  cli(args: string[], env?: Record<string, string>): Promise<CliResult>;
  /** `--json status`: the export's state as the CLI reports it. */
  cliStatus(resource: string, account: string, extra?: string[]): Promise<{ temporalStatus: string; state?: ExportState }>;
  /** Every process group this stack started, cluster and workers, for the leak check. */
  readonly groups: Set<number>;
}

export type WorkerName = 'profile' | 'env';

/** Polls `probe` until it returns something other than undefined. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const found = await probe();
      if (found !== undefined) return found;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000}s${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Every record of the account's simulated data written exactly once, and each record's newest version present. */
export function expectExactlyOnce(dir: string, resource: Resource, expected: Record<string, unknown>[]): void {
  const { versionField } = RESOURCE_SPECS[resource];
  const written = readRecords(dir, resource);
  expect(written.length).toBeGreaterThan(0);
  expect(duplicates(versionKeys(written, versionField))).toEqual([]);
  const newest = newestById(written, versionField);
  expect([...newest.keys()].sort()).toEqual(expected.map((r) => String(r.id)).sort());
  for (const record of expected) expect(newest.get(String(record.id))).toEqual(record);
}

export function useClusterStack(options: StackOptions): ClusterStack {
  const shared = { workers: new Map<string, ClusterWorker>(), groups: new Set<number>() } as {
    cluster: Cluster;
    sim: Simulator;
    root: string;
    dir: string;
    profileFile: string;
    tlsFiles: ClusterStack['tlsFiles'];
    client: ExportClient;
    connection: Connection;
    workers: Map<string, ClusterWorker>;
    groups: Set<number>;
    workerEnv: Record<WorkerName, { args: string[]; env: Record<string, string> }>;
  };
  const taskQueue = `cluster-${randomUUID().slice(0, 8)}`;
  const everyWorker = new Set<ClusterWorker>();

  const recordGroups = () => {
    if (!shared.cluster) return;
    for (const pid of Object.values(shared.cluster.pids())) if (pid !== undefined) shared.groups.add(pid);
  };

  async function startWorker(name: WorkerName): Promise<ClusterWorker> {
    const { args, env } = shared.workerEnv[name];
    const worker = startClusterWorker(name, args, env);
    shared.groups.add(worker.pid);
    everyWorker.add(worker);
    shared.workers.set(name, worker);
    await worker.ready;
    return worker;
  }

  beforeAll(async () => {
    if (!SELECTED) return;
    installTestRuntime();
    shared.dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-cluster-test-'));
    shared.root = path.join(shared.dir, 'out');
    mkdirSync(shared.root);
    // Each is kept as soon as it runs, so afterAll stops it even when the other failed to start.
    const sim = (shared.sim = await startSimulator({ recentWindowSeconds: 0, rateLimits: 'off', ...options.simulator, accounts: options.accounts }));
    const cluster = (shared.cluster = await startCluster({ mutualTls: true, namespace: NAMESPACE, ...options.cluster }));
    recordGroups();

    // The TLS material as files, as a deployment has it: the CA that signed the frontend's certificate,
    // and the client certificate the frontend requires (mutual TLS, as Temporal Cloud's mTLS namespaces).
    const tlsFiles = { ca: path.join(shared.dir, 'ca.pem'), cert: path.join(shared.dir, 'client.pem'), key: path.join(shared.dir, 'client.key') };
    writeFileSync(tlsFiles.ca, cluster.tls.serverRootCACertificate);
    writeFileSync(tlsFiles.cert, cluster.tls.clientCertPair!.crt);
    writeFileSync(tlsFiles.key, cluster.tls.clientCertPair!.key, { mode: 0o600 });
    shared.tlsFiles = tlsFiles;
    shared.profileFile = path.join(shared.dir, 'temporal.toml');
    writeFileSync(
      shared.profileFile,
      [
        `[profile.${PROFILE}]`,
        `address = "${cluster.address}"`,
        `namespace = "${cluster.namespace}"`,
        '',
        `[profile.${PROFILE}.tls]`,
        `server_ca_cert_path = "${tlsFiles.ca}"`,
        `server_name = "${String(cluster.tls.serverNameOverride)}"`,
        `client_cert_path = "${tlsFiles.cert}"`,
        `client_key_path = "${tlsFiles.key}"`,
        '',
      ].join('\n'),
    );

    // A database in the cluster's PostgreSQL for the exports' Postgres target "warehouse"; the password
    // reaches the workers in PGPASSWORD, never in the URL (which workflow inputs would carry).
    const { host, port, user, password = '' } = cluster.postgres;
    const admin = new PgClient({ host, port, user, password, database: 'postgres' });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${WAREHOUSE.database}`).finally(() => admin.end());
    const warehouse = { [`ZENDESK_EXPORT_POSTGRES_${WAREHOUSE.target.toUpperCase()}`]: `postgres://${user}@${host}:${port}/${WAREHOUSE.database}`, PGPASSWORD: password };

    // Credentials per account from a file (worker "env"); the same accounts from the environment (worker
    // "profile"): ZENDESK_SUBDOMAIN for one account, ZENDESK_ACCOUNTS for several.
    const accountsVariable: Record<string, string> = options.accounts.length === 1 ? { ZENDESK_SUBDOMAIN: options.accounts[0]! } : { ZENDESK_ACCOUNTS: options.accounts.join(',') };
    const credentialsFile = path.join(shared.dir, 'zendesk-credentials.json');
    const credentials = Object.fromEntries(options.accounts.map((a) => [a, { email: DEFAULT_API_TOKEN.email, apiToken: DEFAULT_API_TOKEN.token, baseUrl: sim.accountUrl(a) }]));
    writeFileSync(credentialsFile, JSON.stringify(credentials), { mode: 0o600 });
    // What every worker of a deployment shares: the key results are sealed with (the two workers hold
    // their credentials differently, so a key derived from them would differ) and the rate ceilings.
    const deployment = { ZENDESK_EXPORT_SEAL_KEY: randomBytes(32).toString('hex'), ZENDESK_RATE_CEILING: SIMULATOR_RATE_CEILING };
    shared.workerEnv = {
      profile: {
        args: ['--profile', PROFILE, '--task-queue', taskQueue, 'worker', '--output-root', shared.root, '--log-level', 'INFO'],
        env: { TEMPORAL_CONFIG_FILE: shared.profileFile, ...simulatorWorkerEnv(sim, { perAccount: true }), ...accountsVariable, ...warehouse, ...deployment },
      },
      env: {
        args: ['worker', '--log-level', 'INFO'],
        env: {
          TEMPORAL_ADDRESS: cluster.address,
          TEMPORAL_NAMESPACE: cluster.namespace,
          TEMPORAL_TLS_SERVER_CA_CERT_PATH: tlsFiles.ca,
          TEMPORAL_TLS_SERVER_NAME: String(cluster.tls.serverNameOverride),
          TEMPORAL_TLS_CLIENT_CERT_PATH: tlsFiles.cert,
          TEMPORAL_TLS_CLIENT_KEY_PATH: tlsFiles.key,
          ZENDESK_EXPORT_TASK_QUEUE: taskQueue,
          ZENDESK_EXPORT_OUTPUT_ROOT: shared.root,
          ZENDESK_CREDENTIALS_FILE: credentialsFile,
          ...warehouse,
          ...deployment,
        },
      },
    };
    await Promise.all([startWorker('profile'), startWorker('env')]);

    shared.connection = await Connection.connect({ address: cluster.address, tls: cluster.tls });
    shared.client = new ExportClient({ client: new Client({ connection: shared.connection, namespace: cluster.namespace }), taskQueue, startTimeoutMs: 60_000 });
  }, 6 * 60_000);

  afterAll(async () => {
    if (!SELECTED) return;
    await shared.connection?.close();
    // SIGTERM: each worker finishes its page in flight and stops.
    await Promise.all([...everyWorker].map((w) => w.kill('SIGTERM')));
    if (LOG_DIR) {
      mkdirSync(LOG_DIR, { recursive: true });
      for (const w of everyWorker) writeFileSync(path.join(LOG_DIR, `${taskQueue}-${w.name}-${w.pid}.log`), w.output());
      if (shared.cluster) writeFileSync(path.join(LOG_DIR, `${taskQueue}-cluster.log`), shared.cluster.output());
    }
    await shared.sim?.close();
    recordGroups();
    // Every process started, and their children (PostgreSQL's put themselves in groups of their own).
    const seen = new Set([...livingInGroups(shared.groups), ...processTrees(shared.groups)]);
    await shared.cluster?.stop();
    const living = () => [...new Set([...livingInGroups(shared.groups), ...[...seen].filter(alive)])];
    const left = await eventually('every process of the stack to end', async () => (living().length ? undefined : []), 20_000).catch(living);
    if (shared.dir) rmSync(shared.dir, { recursive: true, force: true });
    expect(shared.groups.size).toBeGreaterThanOrEqual(7); // Four services, PostgreSQL, two workers.
    expect(seen.size).toBeGreaterThan(shared.groups.size); // PostgreSQL's children were among them.
    expect(left).toEqual([]);
  }, 2 * 60_000);

  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(['--profile', PROFILE, '--task-queue', taskQueue, ...args], { TEMPORAL_CONFIG_FILE: shared.profileFile, ...env }, { cwd: shared.root });

  return {
    get cluster() {
      return shared.cluster;
    },
    get sim() {
      return shared.sim;
    },
    get root() {
      return shared.root;
    },
    taskQueue,
    get profileFile() {
      return shared.profileFile;
    },
    get tlsFiles() {
      return shared.tlsFiles;
    },
    get client() {
      return shared.client;
    },
    workers: shared.workers,
    groups: shared.groups,
    startWorker,
    cli,
    async cliStatus(resource, account, extra = []) {
      const r = await cli(['--json', 'status', resource, '--account', account, ...extra]);
      if (r.code !== 0) throw new Error(`status exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as { temporalStatus: string; state?: ExportState };
    },
  };
}
