/**
 * A production-shaped Temporal cluster for tests: the four services (history, matching, frontend,
 * worker) as separate processes of the real server binary, on PostgreSQL for persistence and
 * visibility, with several history shards and a TLS frontend, and optionally the Web UI.
 * `cluster/build-temporal.sh` builds the binaries; `startCluster()` starts a fresh cluster on free ports
 * and `stop()` removes every trace of it. No process outlives the one that started it (processes.ts).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection, type TLSConfig } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { grpc, temporal } from '@temporalio/proto';
import type { SearchAttributeType } from '../devserver';
import { startPostgres, type PostgresServer } from '../devserver/postgres';
import { processCpuSeconds } from '../devserver/worker-process';
import { SEARCH_ATTRIBUTE_NAMES } from '../workflows/ids';
import { dynamicConfig, SERVICES, serverConfig, uiConfig, type ServiceName } from './config';
import { allocatePorts, HOST } from './ports';
import { spawnGroup, type GroupProcess } from './processes';
import { setUpSchemas } from './schema';
import { makeCertificates, SERVER_NAME } from './tls';

export { SERVICES, type ServiceName };
export type ProcessName = ServiceName | 'ui';

const PROJECT_ROOT = path.resolve(__dirname, existsSync(path.resolve(__dirname, '../package.json')) ? '..' : '../..');
/** Where cluster/build-temporal.sh puts the binaries and the schema files. */
export const DEFAULT_TOOLS_DIR = path.join(PROJECT_ROOT, '.tools', 'temporal-cluster');

const START_TIMEOUT_MS = 180_000; // Four Go servers and their shard acquisition on a busy two-core machine.
const STOP_GRACE_MS = 10_000;
const OUTPUT_TAIL = 20_000;
const RETENTION = '1 day';
/** The gRPC status codes the namespace set-up expects. */
const GRPC_STATUS = { NOT_FOUND: 5, ALREADY_EXISTS: 6 } as const;

/** The name each service registers with its gRPC health server. */
const HEALTH_SERVICE: Record<ServiceName, string> = {
  history: 'temporal.api.workflowservice.v1.HistoryService',
  matching: 'temporal.api.workflowservice.v1.MatchingService',
  frontend: 'temporal.api.workflowservice.v1.WorkflowService',
  worker: 'temporal.api.workflowservice.v1.WorkerService',
};
const { SERVING } = grpc.health.v1.HealthCheckResponse.ServingStatus;
const { IndexedValueType } = temporal.api.enums.v1;
const INDEXED_VALUE_TYPE: Record<SearchAttributeType, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Text: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

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
  /** Dynamic configuration, e.g. `{ 'limit.historyCount.suggestContinueAsNew': 60 }`. */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** The services' log level. @default 'warn' */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Also run the Web UI (on 127.0.0.1, see `uiUrl`); needs the UI server the build script makes. @default false */
  ui?: boolean;
}

export interface Cluster {
  /** The frontend's gRPC address. */
  address: string;
  namespace: string;
  /** What a Connection or NativeConnection needs to reach the frontend. */
  tls: TLSConfig & { serverRootCACertificate: Buffer };
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `probe` until it returns true, and fails with its last error at the deadline or once `check` throws. */
async function poll(what: string, deadline: number, probe: () => Promise<boolean>, check: () => void = () => {}): Promise<void> {
  let last: unknown;
  for (;;) {
    check();
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready in time${last ? ` (${(last as Error).message})` : ''}`);
    await sleep(500);
  }
}

function tools(dir: string, ui: boolean) {
  const found = {
    server: path.join(dir, 'bin', 'temporal-server'),
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

/**
 * Starts PostgreSQL, sets up Temporal's schemas, starts history, then matching and frontend, then the
 * worker service, and resolves once the `default` namespace and its search attributes answer queries.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const started = Date.now();
  const bin = tools(options.toolsDir ?? DEFAULT_TOOLS_DIR, options.ui ?? false);
  const namespace = options.namespace ?? 'default';
  const mutualTls = options.mutualTls ?? false;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-cluster-'));
  const processes = new Map<ProcessName, GroupProcess>();
  const outputs = new Map<ProcessName, string>();
  let postgres: PostgresServer | undefined;

  async function halt(name: ProcessName, hard: boolean): Promise<void> {
    const proc = processes.get(name);
    processes.delete(name);
    await proc?.stop(hard, STOP_GRACE_MS);
  }

  let stopping: Promise<void> | undefined;
  function stop(): Promise<void> {
    stopping ??= (async () => {
      // Everything shuts down in parallel, each within its grace period, before the database.
      await Promise.all([...processes.keys()].map((name) => halt(name, false)));
      await postgres?.stop();
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  }

  async function run(name: ProcessName, command: string, args: string[]): Promise<void> {
    outputs.set(name, '');
    const append = (text: string) => outputs.set(name, ((outputs.get(name) ?? '') + text).slice(-OUTPUT_TAIL));
    processes.set(name, await spawnGroup(command, args, { cwd: dir, onOutput: append }));
  }

  const stillRunning = (name: ProcessName) => () => {
    if (!processes.get(name)?.running()) throw new Error(`the ${name} process exited`);
  };

  try {
    const ports = await allocatePorts();
    mkdirSync(path.join(dir, 'tls'));
    const certificates = makeCertificates(path.join(dir, 'tls'));
    const tls: Cluster['tls'] = {
      serverRootCACertificate: readFileSync(certificates.caCert),
      // A name rather than the IP address the clients dial: Node warns (DEP0123) when TLS is asked to
      // verify an IP address as a server name.
      serverNameOverride: SERVER_NAME,
      ...(mutualTls ? { clientCertPair: { crt: readFileSync(certificates.clientCert), key: readFileSync(certificates.clientKey) } } : {}),
    };
    const address = `${HOST}:${ports.services.frontend.grpc}`;
    const uiUrl = options.ui ? `http://${HOST}:${ports.ui}` : undefined;

    postgres = await startPostgres({ user: 'temporal', password: randomBytes(12).toString('hex') });
    await setUpSchemas(bin.sqlTool, bin.schema, postgres);

    const dynamicConfigFile = path.join(dir, 'dynamicconfig.yaml');
    writeFileSync(dynamicConfigFile, dynamicConfig(options.dynamicConfig ?? {}));
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
      writeFileSync(configFile(service), config, { mode: 0o600 }); // It holds the database password.
    }
    if (options.ui) {
      mkdirSync(path.join(dir, 'ui'));
      writeFileSync(path.join(dir, 'ui', 'development.yaml'), uiConfig({ host: HOST, port: ports.ui, frontendAddress: address, namespace, certificates, mutualTls }));
    }

    /** Resolves once the service's health server says SERVING (history: after it acquired its shards). */
    async function waitServing(name: ServiceName, deadline: number): Promise<void> {
      const connection = name === 'frontend' ? Connection.lazy({ address, tls }) : Connection.lazy({ address: `${HOST}:${ports.services[name].grpc}` });
      try {
        await poll(`the ${name} service`, deadline, async () => {
          const { status } = await connection.withDeadline(Date.now() + 2_000, () => connection.healthService.check({ service: HEALTH_SERVICE[name] }));
          return status === SERVING;
        }, stillRunning(name));
      } finally {
        await connection.close();
      }
    }

    async function startService(name: ServiceName, deadline: number): Promise<void> {
      await run(name, bin.server, ['--config-file', configFile(name), '--allow-no-auth', 'start', '--service', name]);
      await waitServing(name, deadline);
    }

    async function startUi(url: string, deadline: number): Promise<void> {
      await run('ui', bin.uiServer, ['--root', dir, '--config', 'ui', '--env', 'development', 'start']);
      // The settings call answers once the UI server is up; the namespace list, once it reaches the frontend.
      await poll('the UI server', deadline, async () => {
        const response = await fetch(`${url}/api/v1/namespaces`, { signal: AbortSignal.timeout(2_000) });
        return response.ok;
      }, stillRunning('ui'));
    }

    /** Registers the namespace and search attributes, and waits until visibility answers queries on them. */
    async function prepareNamespace(deadline: number): Promise<void> {
      const connection = await Connection.connect({ address, tls });
      try {
        const { workflowService, operatorService } = connection;
        await poll('namespace registration', deadline, async () => {
          try {
            await workflowService.describeNamespace({ namespace });
            return true;
          } catch (err) {
            if ((err as { code?: number }).code !== GRPC_STATUS.NOT_FOUND) throw err;
          }
          await workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(RETENTION) }).catch((err: { code?: number }) => {
            if (err.code !== GRPC_STATUS.ALREADY_EXISTS) throw err;
          });
          return false;
        });
        // Each service caches namespaces and refreshes the cache every few seconds: wait until matching
        // (a task queue's description) and history (a workflow's) know a new one, so that a worker's
        // first poll and a client's first start are not refused with "namespace not found".
        await poll('the namespace in matching and history', deadline, async () => {
          await workflowService.describeTaskQueue({ namespace, taskQueue: { name: 'readiness-probe' } });
          // "workflow not found" is the answer wanted; "Namespace … is not found" means not yet.
          await workflowService.describeWorkflowExecution({ namespace, execution: { workflowId: 'readiness-probe' } }).catch((err: { code?: number; details?: string }) => {
            if (err.code !== GRPC_STATUS.NOT_FOUND || /^Namespace .* not found/i.test(err.details ?? '')) throw err;
          });
          return true;
        });
        const project = Object.fromEntries(Object.values(SEARCH_ATTRIBUTE_NAMES).map((name) => [name, 'Keyword' as const]));
        const wanted: Record<string, SearchAttributeType> = { ...(options.projectSearchAttributes === false ? {} : project), ...options.searchAttributes };
        if (Object.keys(wanted).length === 0) return;
        await poll('search attributes', deadline, async () => {
          const { customAttributes } = await operatorService.listSearchAttributes({ namespace });
          const missing = Object.entries(wanted).filter(([name]) => customAttributes?.[name] === undefined);
          if (missing.length === 0) return true;
          await operatorService.addSearchAttributes({
            namespace,
            searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED_VALUE_TYPE[type]])),
          });
          return false;
        });
        // On SQL visibility the attributes are aliases in the namespace record, which every service's
        // namespace cache picks up within seconds; a query naming all of them passes once the frontend has.
        const query = Object.keys(wanted).map((name) => `${name} IS NULL`).join(' AND ');
        await poll('visibility queries on the search attributes', deadline, async () => {
          await workflowService.countWorkflowExecutions({ namespace, query });
          return true;
        });
      } finally {
        await connection.close();
      }
    }

    const deadline = Date.now() + START_TIMEOUT_MS;
    // History first: every process initialises the cluster metadata on its first start, and those
    // first writes race when the services start together.
    await startService('history', deadline);
    await Promise.all([startService('matching', deadline), startService('frontend', deadline)]);
    await startService('worker', deadline);
    await prepareNamespace(deadline);
    if (uiUrl) await startUi(uiUrl, deadline);

    const pid = (name: ProcessName) => processes.get(name)?.pid;
    return {
      address,
      namespace,
      tls,
      postgres,
      uiUrl,
      startupMs: Date.now() - started,
      async restartService(name, { hard = false } = {}) {
        await halt(name, hard);
        try {
          await startService(name, Date.now() + START_TIMEOUT_MS);
        } catch (err) {
          throw new Error(`The ${name} service did not come back: ${(err as Error).message}\n--- ${name} (tail) ---\n${(outputs.get(name) ?? '').slice(-3_000)}`);
        }
      },
      pids() {
        const pids = { history: pid('history'), matching: pid('matching'), frontend: pid('frontend'), worker: pid('worker'), postgres: postgres?.pid };
        return uiUrl ? { ...pids, ui: pid('ui') } : pids;
      },
      cpuSeconds() {
        const cpu = (name: ServiceName) => {
          const found = pid(name);
          return found === undefined ? 0 : processCpuSeconds(found);
        };
        return { history: cpu('history'), matching: cpu('matching'), frontend: cpu('frontend'), worker: cpu('worker') };
      },
      output(name) {
        if (name) return outputs.get(name) ?? '';
        return [...outputs.keys()].map((key) => `--- ${key} ---\n${outputs.get(key)}`).join('\n');
      },
      stop,
    };
  } catch (err) {
    const tails = [...outputs.entries()].filter(([, text]) => text).map(([name, text]) => `--- ${name} (tail) ---\n${text.slice(-3_000)}`);
    await stop().catch(() => {});
    throw new Error(`The Temporal cluster did not come up: ${(err as Error).message}${tails.length ? `\n${tails.join('\n')}` : ''}`);
  }
}
