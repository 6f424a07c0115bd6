/**
 * A production-shaped Temporal cluster for tests: the four services (history, matching, frontend,
 * worker) as separate processes of the real server binary, on PostgreSQL for persistence and
 * visibility, with several history shards and a TLS frontend, and optionally the Web UI.
 * `cluster/build-temporal.sh` builds the binaries; `startCluster()` starts a fresh cluster on free ports
 * and `stop()` removes every trace of it. With `authorizer: true` the services run temporal-server-authz,
 * the same server with a namespace authorizer that tells workers from other clients (cluster/authz-server). No process outlives the one that started it (devserver/process.ts).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection, type TLSConfig } from '@temporalio/client';
import { grpc } from '@temporalio/proto';
import { PROJECT_SEARCH_ATTRIBUTES, SERVER_DYNAMIC_CONFIG, type SearchAttributeType } from '../devserver';
import { poll } from '../devserver/poll';
import { startPostgres, type PostgresServer } from '../devserver/postgres';
import { processCpuSeconds, spawnGroup, type GroupProcess } from '../devserver/process';
import { dynamicConfig, SERVICES, serverConfig, uiConfig, type ServiceName } from './config';
import { prepareNamespace } from './namespace';
import { allocatePorts, HOST, type ClusterPorts } from './ports';
import { setUpSchemas } from './schema';
import { makeCertificates, SERVER_NAME, type CertificateFiles } from './tls';

export { SERVICES, type ServiceName };
export type ProcessName = ServiceName | 'ui';

const PROJECT_ROOT = path.resolve(__dirname, existsSync(path.resolve(__dirname, '../package.json')) ? '..' : '../..');
/** Where cluster/build-temporal.sh puts the binaries and the schema files. */
export const DEFAULT_TOOLS_DIR = path.join(PROJECT_ROOT, '.tools', 'temporal-cluster');

const START_TIMEOUT_MS = 180_000; // Four Go servers and their shard acquisition on a busy two-core machine.
const STOP_GRACE_MS = 10_000;
const OUTPUT_TAIL = 20_000;

/** The name each service registers with its gRPC health server. */
const HEALTH_SERVICE: Record<ServiceName, string> = {
  history: 'temporal.api.workflowservice.v1.HistoryService',
  matching: 'temporal.api.workflowservice.v1.MatchingService',
  frontend: 'temporal.api.workflowservice.v1.WorkflowService',
  worker: 'temporal.api.workflowservice.v1.WorkerService',
};
const { SERVING } = grpc.health.v1.HealthCheckResponse.ServingStatus;

export interface ClusterOptions {
  /** The folder cluster/build-temporal.sh fills. @default .tools/temporal-cluster */
  toolsDir?: string;
  /** @default 4 */
  numHistoryShards?: number;
  /** Require client certificates at the frontend too (`tls.clientCertPair` then carries one). @default false */
  mutualTls?: boolean;
  /** The namespace to register and serve, as a production cluster or Temporal Cloud names its own. @default 'default' */
  namespace?: string;
  /** Search attributes on top of the project's four Keywords. */
  searchAttributes?: Record<string, SearchAttributeType>;
  /**
   * Register the project's four Keyword search attributes. False leaves the namespace as a new cluster
   * has it, for tests of what an operator registers (`temporal operator search-attribute create`). @default true
   */
  projectSearchAttributes?: boolean;
  /** Dynamic configuration over SERVER_DYNAMIC_CONFIG, e.g. `{ 'limit.historyCount.suggestContinueAsNew': 60 }`. */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** The services' log level. @default 'warn' */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Run temporal-server-authz (cluster/authz-server): mutual TLS, and a namespace authorizer that denies
   * clients that are not workers the calls only workers make (activity completions, task polls, the
   * coordinator's internal signals). `tls` then carries the worker certificate, `nonWorkerTls` a client's. @default false
   */
  authorizer?: boolean;
  /** Also run the Web UI (on 127.0.0.1, see `uiUrl`); needs the UI server the build script makes. @default false */
  ui?: boolean;
}

export interface Cluster {
  /** The frontend's gRPC address. */
  address: string;
  namespace: string;
  /** What a Connection or NativeConnection needs to reach the frontend. */
  tls: TLSConfig & { serverRootCACertificate: Buffer };
  /** With `authorizer`: the same frontend as a client that is not a worker (another certificate). */
  nonWorkerTls?: TLSConfig & { serverRootCACertificate: Buffer };
  postgres: PostgresServer;
  uiUrl?: string;
  /** How long startCluster() took, in milliseconds. */
  startupMs: number;
  /** Stops one service (SIGKILL when `hard`, as in a crash) and starts it again on the same ports. */
  restartService(name: ServiceName, options?: { hard?: boolean }): Promise<void>;
  /** PIDs of the running processes (each also its process group id), the PostgreSQL postmaster's included. */
  pids(): Record<ServiceName | 'postgres', number | undefined> & { ui?: number };
  /** User + system CPU seconds of each service's current process. */
  cpuSeconds(): Record<ServiceName, number>;
  /** Tail of the output of one process, or of all of them. */
  output(name?: ProcessName): string;
  stop(): Promise<void>;
}

type Tools = ReturnType<typeof tools>;

function tools(dir: string, ui: boolean, authorizer: boolean) {
  const found = {
    server: path.join(dir, 'bin', authorizer ? 'temporal-server-authz' : 'temporal-server'),
    sqlTool: path.join(dir, 'bin', 'temporal-sql-tool'),
    uiServer: path.join(dir, 'bin', 'temporal-ui-server'),
    schema: path.join(dir, 'schema', 'postgresql', 'v12'),
  };
  if (![found.server, found.sqlTool, found.schema].every(existsSync)) {
    throw new Error(`The Temporal server is not built in ${dir}: run \`bash cluster/build-temporal.sh\` (it needs Go and the Go module proxy).`);
  }
  if (ui && !existsSync(found.uiServer)) throw new Error(`The Temporal UI server is not built in ${dir}: see the output of cluster/build-temporal.sh.`);
  return found;
}

/** The cluster's processes by name, each with the output of its latest run. */
class Processes {
  private readonly running = new Map<ProcessName, GroupProcess>();
  private readonly latest = new Map<ProcessName, GroupProcess>();
  constructor(private readonly cwd: string) {}

  start(name: ProcessName, command: string, args: string[]): void {
    const proc = spawnGroup(command, args, { cwd: this.cwd, outputTail: OUTPUT_TAIL, ref: false });
    this.running.set(name, proc);
    this.latest.set(name, proc);
  }

  /** Throws once the named process has exited: the wait for it to answer is over. */
  check(name: ProcessName): () => void {
    return () => {
      if (!this.running.get(name)?.running()) throw new Error(`the ${name} process exited`);
    };
  }

  async halt(name: ProcessName, hard = false): Promise<void> {
    const proc = this.running.get(name);
    this.running.delete(name);
    await proc?.stop({ signal: hard ? 'SIGKILL' : 'SIGTERM', graceMs: STOP_GRACE_MS });
  }

  /** Everything at once, each within its grace period. */
  haltAll(): Promise<void> {
    return Promise.all([...this.running.keys()].map((name) => this.halt(name))).then(() => undefined);
  }

  pid(name: ProcessName): number | undefined {
    return this.running.get(name)?.pid;
  }

  output(name?: ProcessName): string {
    if (name) return this.latest.get(name)?.output() ?? '';
    return [...this.latest].map(([key, proc]) => `--- ${key} ---\n${proc.output()}`).join('\n');
  }

  tails(): string[] {
    return [...this.latest].filter(([, proc]) => proc.output()).map(([name, proc]) => `--- ${name} (tail) ---\n${proc.output().slice(-3_000)}`);
  }
}

/** The frontend's TLS as files (for the servers' configuration) and as a client's settings. */
function makeTls(dir: string, mutualTls: boolean, roles: boolean): { certificates: CertificateFiles; tls: Cluster['tls']; nonWorkerTls?: Cluster['tls'] } {
  mkdirSync(path.join(dir, 'tls'));
  const certificates = makeCertificates(path.join(dir, 'tls'), { roles });
  const withCertificate = (cert?: string, key?: string): Cluster['tls'] => ({
    serverRootCACertificate: readFileSync(certificates.caCert),
    // A name rather than the IP address the clients dial: Node warns (DEP0123) when TLS is asked to
    // verify an IP address as a server name.
    serverNameOverride: SERVER_NAME,
    ...(cert && key ? { clientCertPair: { crt: readFileSync(cert), key: readFileSync(key) } } : {}),
  });
  const tls = mutualTls ? withCertificate(certificates.clientCert, certificates.clientKey) : withCertificate();
  return { certificates, tls, ...(roles ? { nonWorkerTls: withCertificate(certificates.nonWorkerCert, certificates.nonWorkerKey) } : {}) };
}

/** Each service's configuration file (they hold the database password) and the dynamic configuration; returns the path of each. */
function writeServerConfigs(dir: string, input: { ports: ClusterPorts; postgres: PostgresServer; certificates: CertificateFiles; mutualTls: boolean; options: ClusterOptions }): (name: ServiceName) => string {
  const { ports, postgres, certificates, mutualTls, options } = input;
  const dynamicConfigFile = path.join(dir, 'dynamicconfig.yaml');
  writeFileSync(dynamicConfigFile, dynamicConfig({ ...SERVER_DYNAMIC_CONFIG, ...options.dynamicConfig }));
  const configFile = (name: ServiceName) => path.join(dir, `${name}.yaml`);
  for (const service of SERVICES) {
    const config = serverConfig({
      service,
      ports: ports.services,
      host: HOST,
      numHistoryShards: options.numHistoryShards ?? 4,
      logLevel: options.logLevel ?? 'warn',
      database: { host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password ?? '' },
      certificates,
      mutualTls,
      dynamicConfigFile,
    });
    writeFileSync(configFile(service), config, { mode: 0o600 });
  }
  return configFile;
}

/** What starting a service or the UI needs to know. */
interface Launch {
  dir: string;
  bin: Tools;
  processes: Processes;
  address: string;
  tls: Cluster['tls'];
  ports: ClusterPorts;
  authorizer: boolean;
  configFile(name: ServiceName): string;
}

/** Starts one service and resolves once its health server says SERVING (history: after it acquired its shards). */
async function startService(launch: Launch, name: ServiceName, deadline: number): Promise<void> {
  const args = launch.authorizer ? ['--config-file', launch.configFile(name), '--service', name] : ['--config-file', launch.configFile(name), '--allow-no-auth', 'start', '--service', name];
  launch.processes.start(name, launch.bin.server, args);
  const connection = name === 'frontend' ? Connection.lazy({ address: launch.address, tls: launch.tls }) : Connection.lazy({ address: `${HOST}:${launch.ports.services[name].grpc}` });
  try {
    const serving = async () => {
      const { status } = await connection.withDeadline(Date.now() + 2_000, () => connection.healthService.check({ service: HEALTH_SERVICE[name] }));
      return status === SERVING;
    };
    await poll(`the ${name} service`, deadline, serving, { check: launch.processes.check(name) });
  } finally {
    await connection.close();
  }
}

/** History first: every process initialises the cluster metadata on its first start, and those first writes race when the services start together. */
async function startServices(launch: Launch, deadline: number): Promise<void> {
  await startService(launch, 'history', deadline);
  await Promise.all([startService(launch, 'matching', deadline), startService(launch, 'frontend', deadline)]);
  await startService(launch, 'worker', deadline);
}

async function startUi(launch: Launch, namespace: string, mutualTls: boolean, certificates: CertificateFiles, deadline: number): Promise<string> {
  const url = `http://${HOST}:${launch.ports.ui}`;
  mkdirSync(path.join(launch.dir, 'ui'));
  writeFileSync(path.join(launch.dir, 'ui', 'development.yaml'), uiConfig({ host: HOST, port: launch.ports.ui, frontendAddress: launch.address, namespace, certificates, mutualTls }));
  launch.processes.start('ui', launch.bin.uiServer, ['--root', launch.dir, '--config', 'ui', '--env', 'development', 'start']);
  // The settings call answers once the UI server is up; the namespace list, once it reaches the frontend.
  const answers = async () => (await fetch(`${url}/api/v1/namespaces`, { signal: AbortSignal.timeout(2_000) })).ok;
  await poll('the UI server', deadline, answers, { check: launch.processes.check('ui') });
  return url;
}

/**
 * Starts PostgreSQL, sets up Temporal's schemas, starts history, then matching and frontend, then the
 * worker service, and resolves once the namespace and its search attributes answer queries.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const started = Date.now();
  const authorizer = options.authorizer ?? false;
  const bin = tools(options.toolsDir ?? DEFAULT_TOOLS_DIR, options.ui ?? false, authorizer);
  const namespace = options.namespace ?? 'default';
  // The authorizer tells workers from clients by their certificates.
  const mutualTls = authorizer || (options.mutualTls ?? false);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-cluster-'));
  const processes = new Processes(dir);
  let postgres: PostgresServer | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await processes.haltAll(); // Before the database.
      await postgres?.stop();
      rmSync(dir, { recursive: true, force: true });
    })());

  try {
    const ports = await allocatePorts();
    const { certificates, tls, nonWorkerTls } = makeTls(dir, mutualTls, authorizer);
    postgres = await startPostgres({ user: 'temporal', password: randomBytes(12).toString('hex') });
    await setUpSchemas(bin.sqlTool, bin.schema, postgres);
    const configFile = writeServerConfigs(dir, { ports, postgres, certificates, mutualTls, options });
    const launch: Launch = { dir, bin, processes, address: `${HOST}:${ports.services.frontend.grpc}`, tls, ports, authorizer, configFile };

    const deadline = Date.now() + START_TIMEOUT_MS;
    await startServices(launch, deadline);
    const attributes = { ...(options.projectSearchAttributes === false ? {} : PROJECT_SEARCH_ATTRIBUTES), ...options.searchAttributes };
    const connection = await Connection.connect({ address: launch.address, tls });
    await prepareNamespace(connection, namespace, attributes, deadline).finally(() => connection.close());
    const uiUrl = options.ui ? await startUi(launch, namespace, mutualTls, certificates, deadline) : undefined;
    return clusterHandle({ launch, namespace, nonWorkerTls, postgres, uiUrl, startupMs: Date.now() - started, stop });
  } catch (err) {
    const tails = processes.tails();
    await stop().catch(() => {});
    throw new Error(`The Temporal cluster did not come up: ${(err as Error).message}${tails.length ? `\n${tails.join('\n')}` : ''}`);
  }
}

function clusterHandle(input: { launch: Launch; namespace: string; nonWorkerTls?: Cluster['tls']; postgres: PostgresServer; uiUrl?: string; startupMs: number; stop(): Promise<void> }): Cluster {
  const { launch, postgres, uiUrl } = input;
  const { processes } = launch;
  const pid = (name: ProcessName) => processes.pid(name);
  const cpu = (name: ServiceName) => {
    const found = pid(name);
    return found === undefined ? 0 : processCpuSeconds(found);
  };
  return {
    address: launch.address,
    namespace: input.namespace,
    tls: launch.tls,
    nonWorkerTls: input.nonWorkerTls,
    postgres,
    uiUrl,
    startupMs: input.startupMs,
    async restartService(name, { hard = false } = {}) {
      await processes.halt(name, hard);
      try {
        await startService(launch, name, Date.now() + START_TIMEOUT_MS);
      } catch (err) {
        throw new Error(`The ${name} service did not come back: ${(err as Error).message}\n--- ${name} (tail) ---\n${processes.output(name).slice(-3_000)}`);
      }
    },
    pids() {
      const pids = { history: pid('history'), matching: pid('matching'), frontend: pid('frontend'), worker: pid('worker'), postgres: postgres.pid };
      return uiUrl ? { ...pids, ui: pid('ui') } : pids;
    },
    cpuSeconds: () => ({ history: cpu('history'), matching: cpu('matching'), frontend: cpu('frontend'), worker: cpu('worker') }),
    output: (name) => processes.output(name),
    stop: input.stop,
  };
}
