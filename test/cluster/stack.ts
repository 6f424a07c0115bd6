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
import type { ExportClient } from '../../client/export-client';
import { eventually } from '../../devserver/poll';
import { startStack, type Stack } from '../../devserver/stack';
import type { WorkerProcess } from '../../devserver/worker-process';
import { DEFAULT_API_TOKEN, SIMULATOR_RATE_CEILING, simulatorWorkerEnv, type Simulator, type SimulatorOptions } from '../../simulator';
import { RESOURCE_SPECS, type Resource } from '../../zendesk/endpoints';
import type { ExportState } from '../../workflows/types';
import { runCli, type CliResult } from '../helpers/cli';
import { duplicates, newestById, readRecords, versionKeys } from '../helpers/output';
import { installTestRuntime } from '../helpers/temporal';
import { alive, livingInGroups, processTrees } from './procfs';

export { eventually };

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
  readonly workers: Map<string, WorkerProcess>;
  /** Starts (or restarts) worker "profile" or "env", and waits until it polls. */
  startWorker(name: WorkerName): Promise<WorkerProcess>;
  /** The CLI, `--profile cluster`, the profile file and task queue in its environment, the root as working folder. */
  cli(args: string[], env?: Record<string, string>): Promise<CliResult>;
  /** `--json status`: the export's state as the CLI reports it. */
  cliStatus(resource: string, account: string, extra?: string[]): Promise<{ temporalStatus: string; state?: ExportState }>;
  /** Every process group this stack started, cluster and workers, for the leak check. */
  readonly groups: Set<number>;
}

export type WorkerName = 'profile' | 'env';

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

/** The TLS material as files, as a deployment has it, and the env-config profile that names them. */
function writeClientFiles(dir: string, cluster: Cluster): { tlsFiles: ClusterStack['tlsFiles']; profileFile: string } {
  // The CA that signed the frontend's certificate, and the client certificate the frontend requires
  // (mutual TLS, as Temporal Cloud's mTLS namespaces).
  const tlsFiles = { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'client.pem'), key: path.join(dir, 'client.key') };
  writeFileSync(tlsFiles.ca, cluster.tls.serverRootCACertificate);
  writeFileSync(tlsFiles.cert, cluster.tls.clientCertPair!.crt);
  writeFileSync(tlsFiles.key, cluster.tls.clientCertPair!.key, { mode: 0o600 });
  const profileFile = path.join(dir, 'temporal.toml');
  const profile = [
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
  ];
  writeFileSync(profileFile, profile.join('\n'));
  return { tlsFiles, profileFile };
}

/**
 * A database in the cluster's PostgreSQL for the exports' Postgres target "warehouse", and the worker
 * environment naming it: the password reaches the workers in PGPASSWORD, never in the URL (which
 * workflow inputs would carry).
 */
async function createWarehouse(cluster: Cluster): Promise<Record<string, string>> {
  const { host, port, user, password = '' } = cluster.postgres;
  const admin = new PgClient({ host, port, user, password, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${WAREHOUSE.database}`).finally(() => admin.end());
  return { [`ZENDESK_EXPORT_POSTGRES_${WAREHOUSE.target.toUpperCase()}`]: `postgres://${user}@${host}:${port}/${WAREHOUSE.database}`, PGPASSWORD: password };
}

/**
 * Each worker's arguments and environment. Credentials per account from a file (worker "env"); the same
 * accounts from the environment (worker "profile"): ZENDESK_SUBDOMAIN for one account, ZENDESK_ACCOUNTS
 * for several.
 */
function workerSettings(input: {
  dir: string;
  root: string;
  taskQueue: string;
  accounts: string[];
  sim: Simulator;
  cluster: Cluster;
  files: ReturnType<typeof writeClientFiles>;
  warehouse: Record<string, string>;
}): Record<WorkerName, { args: string[]; env: Record<string, string> }> {
  const { dir, root, taskQueue, accounts, sim, cluster, files, warehouse } = input;
  const accountsVariable: Record<string, string> = accounts.length === 1 ? { ZENDESK_SUBDOMAIN: accounts[0]! } : { ZENDESK_ACCOUNTS: accounts.join(',') };
  const credentialsFile = path.join(dir, 'zendesk-credentials.json');
  const credentials = Object.fromEntries(accounts.map((a) => [a, { email: DEFAULT_API_TOKEN.email, apiToken: DEFAULT_API_TOKEN.token, baseUrl: sim.accountUrl(a) }]));
  writeFileSync(credentialsFile, JSON.stringify(credentials), { mode: 0o600 });
  // What every worker of a deployment shares: the key results are sealed with (the two workers hold
  // their credentials differently, so a key derived from them would differ) and the rate ceilings.
  const deployment = { ZENDESK_EXPORT_SEAL_KEY: randomBytes(32).toString('hex'), ZENDESK_RATE_CEILING: SIMULATOR_RATE_CEILING };
  return {
    profile: {
      args: ['--profile', PROFILE, '--task-queue', taskQueue, 'worker', '--output-root', root, '--log-level', 'INFO'],
      env: { TEMPORAL_CONFIG_FILE: files.profileFile, ...simulatorWorkerEnv(sim, { perAccount: true }), ...accountsVariable, ...warehouse, ...deployment },
    },
    env: {
      args: ['worker', '--log-level', 'INFO'],
      env: {
        TEMPORAL_ADDRESS: cluster.address,
        TEMPORAL_NAMESPACE: cluster.namespace,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: files.tlsFiles.ca,
        TEMPORAL_TLS_SERVER_NAME: String(cluster.tls.serverNameOverride),
        TEMPORAL_TLS_CLIENT_CERT_PATH: files.tlsFiles.cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: files.tlsFiles.key,
        ZENDESK_EXPORT_TASK_QUEUE: taskQueue,
        ZENDESK_EXPORT_OUTPUT_ROOT: root,
        ZENDESK_CREDENTIALS_FILE: credentialsFile,
        ...warehouse,
        ...deployment,
      },
    },
  };
}

/** What one test file's stack holds; each part is kept as soon as it runs, so the stop reaches it even when a later step failed. */
interface Parts {
  taskQueue: string;
  cluster?: Cluster;
  stack?: Stack;
  dir?: string;
  files?: ReturnType<typeof writeClientFiles>;
  settings?: Record<WorkerName, { args: string[]; env: Record<string, string> }>;
  /** The running workers, by name. */
  workers: Map<string, WorkerProcess>;
  /** Every worker ever started, restarted ones included. */
  everyWorker: Set<WorkerProcess>;
  /** Every process group started, for the leak check. */
  groups: Set<number>;
}

function recordGroups(parts: Parts): void {
  for (const pid of Object.values(parts.cluster?.pids() ?? {})) if (pid !== undefined) parts.groups.add(pid);
}

/** Starts (or restarts) worker "profile" or "env", and waits until it polls. */
async function startWorker(parts: Parts, name: WorkerName): Promise<WorkerProcess> {
  const { args, env } = parts.settings![name];
  // Nothing inherited but PATH, no TEMPORAL_ADDRESS or task queue added: a worker finds the cluster
  // through its profile or TEMPORAL_* variables.
  const worker = parts.stack!.startWorkerProcess({ name, args, env, inheritEnv: false, temporalAddress: undefined, taskQueue: undefined });
  parts.groups.add(worker.pid);
  parts.everyWorker.add(worker);
  parts.workers.set(name, worker);
  await worker.ready;
  return worker;
}

async function startParts(parts: Parts, options: StackOptions): Promise<void> {
  installTestRuntime();
  const dir = (parts.dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-cluster-test-')));
  const root = path.join(dir, 'out');
  mkdirSync(root);
  const cluster = (parts.cluster = await startCluster({ mutualTls: true, namespace: NAMESPACE, ...options.cluster }));
  recordGroups(parts);
  const connection = await Connection.connect({ address: cluster.address, tls: cluster.tls });
  const stack = (parts.stack = await startStack({
    temporal: { address: cluster.address, namespace: cluster.namespace, client: new Client({ connection, namespace: cluster.namespace }) },
    simulator: { rateLimits: 'off', ...options.simulator, accounts: options.accounts },
    accounts: options.accounts,
    taskQueue: parts.taskQueue,
    outputRoot: root,
    client: { startTimeoutMs: 60_000 },
  }));
  stack.teardown.add(() => connection.close());
  parts.files = writeClientFiles(dir, cluster);
  const warehouse = await createWarehouse(cluster);
  parts.settings = workerSettings({ dir, root, taskQueue: parts.taskQueue, accounts: options.accounts, sim: stack.sim!, cluster, files: parts.files, warehouse });
  await Promise.all([startWorker(parts, 'profile'), startWorker(parts, 'env')]);
}

/** Stops everything, and checks that no process of it, or of its children, is left. */
async function stopParts(parts: Parts): Promise<void> {
  // SIGTERM: each worker finishes its page in flight and stops.
  await Promise.all([...parts.everyWorker].map((w) => w.kill('SIGTERM')));
  if (LOG_DIR) {
    mkdirSync(LOG_DIR, { recursive: true });
    for (const w of parts.everyWorker) writeFileSync(path.join(LOG_DIR, `${parts.taskQueue}-${w.name}-${w.pid}.log`), w.output());
    if (parts.cluster) writeFileSync(path.join(LOG_DIR, `${parts.taskQueue}-cluster.log`), parts.cluster.output());
  }
  await parts.stack?.close();
  recordGroups(parts);
  // Every process started, and their children (PostgreSQL's put themselves in groups of their own).
  const seen = new Set([...livingInGroups(parts.groups), ...processTrees(parts.groups)]);
  await parts.cluster?.stop();
  const living = () => [...new Set([...livingInGroups(parts.groups), ...[...seen].filter(alive)])];
  const left = await eventually('every process of the stack to end', async () => (living().length ? undefined : []), 20_000).catch(living);
  if (parts.dir) rmSync(parts.dir, { recursive: true, force: true });
  expect(parts.groups.size).toBeGreaterThanOrEqual(7); // Four services, PostgreSQL, two workers.
  expect(seen.size).toBeGreaterThan(parts.groups.size); // PostgreSQL's children were among them.
  expect(left).toEqual([]);
}

export function useClusterStack(options: StackOptions): ClusterStack {
  const parts: Parts = { taskQueue: `cluster-${randomUUID().slice(0, 8)}`, workers: new Map(), everyWorker: new Set(), groups: new Set() };
  const { taskQueue } = parts;
  beforeAll(() => (SELECTED ? startParts(parts, options) : undefined), 6 * 60_000);
  afterAll(() => (SELECTED ? stopParts(parts) : undefined), 2 * 60_000);

  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(['--profile', PROFILE, '--task-queue', taskQueue, ...args], { TEMPORAL_CONFIG_FILE: parts.files!.profileFile, ...env }, { cwd: parts.stack!.out });

  return {
    get cluster() {
      return parts.cluster!;
    },
    get sim() {
      return parts.stack!.sim!;
    },
    get root() {
      return parts.stack!.out;
    },
    taskQueue,
    get profileFile() {
      return parts.files!.profileFile;
    },
    get tlsFiles() {
      return parts.files!.tlsFiles;
    },
    get client() {
      return parts.stack!.client;
    },
    workers: parts.workers,
    groups: parts.groups,
    startWorker: (name) => startWorker(parts, name),
    cli,
    async cliStatus(resource, account, extra = []) {
      const r = await cli(['--json', 'status', resource, '--account', account, ...extra]);
      if (r.code !== 0) throw new Error(`status exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as { temporalStatus: string; state?: ExportState };
    },
  };
}
