/**
 * The test cluster's configuration files, as YAML. Every service gets its own server configuration
 * because metrics are configured process-wide (`global.metrics`) and four processes cannot share one
 * metrics port; everything else is the same in all four files. The UI server has its own format.
 */
import type { CertificateFiles } from './tls';
import { SERVER_NAME } from './tls';

export const SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface ServicePorts {
  grpc: number;
  membership: number;
  metrics: number;
  /** The frontend's HTTP API (and Nexus endpoints), under the same TLS as its gRPC. */
  http?: number;
}

export interface ServerConfigInput {
  service: ServiceName;
  ports: Record<ServiceName, ServicePorts>;
  host: string;
  numHistoryShards: number;
  logLevel: string;
  database: { host: string; port: number; user: string; password: string };
  certificates: CertificateFiles;
  /** Require client certificates at the frontend. */
  mutualTls: boolean;
  dynamicConfigFile: string;
}

export const DATABASES = { default: 'temporal', visibility: 'temporal_visibility' } as const;

export function serverConfig(input: ServerConfigInput): string {
  const { host, ports, database, certificates: certs } = input;
  const datastore = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${database.host}:${database.port}`,
      connectProtocol: 'tcp',
      user: database.user,
      password: database.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const clientTls = { serverName: SERVER_NAME, rootCaFiles: [certs.caCert] };
  const config = {
    log: { stdout: true, level: input.logLevel },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: input.numHistoryShards,
      datastores: { default: datastore(DATABASES.default, 20), visibility: datastore(DATABASES.visibility, 10) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: host },
      metrics: { prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `${host}:${ports[input.service].metrics}` } },
      tls: {
        // Clients reach the cluster through the frontend only, so that is the listener with TLS; the
        // services talk among themselves in the clear on 127.0.0.1.
        frontend: {
          server: {
            certFile: certs.serverCert,
            keyFile: certs.serverKey,
            requireClientAuth: input.mutualTls,
            ...(input.mutualTls ? { clientCaFiles: [certs.caCert] } : {}),
          },
        },
        // The worker service's system workflows are a client of the frontend like any other.
        systemWorker: {
          ...(input.mutualTls ? { certFile: certs.clientCert, keyFile: certs.clientKey } : {}),
          client: clientTls,
        },
      },
    },
    services: Object.fromEntries(
      Object.entries(ports).map(([name, p]) => [
        name,
        { rpc: { grpcPort: p.grpc, membershipPort: p.membership, bindOnIP: host, ...(p.http ? { httpPort: p.http } : {}) } },
      ]),
    ),
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `${host}:${ports.frontend.grpc}` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    dynamicConfigClient: { filepath: input.dynamicConfigFile, pollInterval: '10s' },
  };
  return toYaml(config);
}

export interface UiConfigInput {
  host: string;
  port: number;
  frontendAddress: string;
  namespace: string;
  certificates: CertificateFiles;
  mutualTls: boolean;
}

/** The UI server's configuration: the frontend over TLS, no outside requests (news, version checks). */
export function uiConfig(input: UiConfigInput): string {
  const { certificates: certs } = input;
  return toYaml({
    temporalGrpcAddress: input.frontendAddress,
    host: input.host,
    port: input.port,
    enableUi: true,
    defaultNamespace: input.namespace,
    disableNewsFetch: true,
    notifyOnNewVersion: false,
    refreshInterval: '1m',
    cors: { cookieInsecure: true, allowOrigins: [`http://${input.host}:${input.port}`] },
    auth: { enabled: false },
    tls: {
      caFile: certs.caCert,
      serverName: SERVER_NAME,
      enableHostVerification: true,
      ...(input.mutualTls ? { certFile: certs.clientCert, keyFile: certs.clientKey } : {}),
    },
  });
}

/** Dynamic configuration: each key with one unconstrained value. */
export function dynamicConfig(values: Record<string, unknown>): string {
  return toYaml(Object.fromEntries(Object.entries(values).map(([key, value]) => [key, [{ value, constraints: {} }]])));
}

/** A small YAML writer for plain data: maps, lists and scalars (strings JSON-quoted, which YAML reads as they are). */
export function toYaml(value: unknown): string {
  return lines(value, 0).join('\n') + '\n';
}

const isEmpty = (v: object) => (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0);

function scalar(value: unknown): string {
  if (Array.isArray(value)) return '[]';
  if (value !== null && typeof value === 'object') return '{}';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

function lines(value: unknown, indent: number): string[] {
  const pad = ' '.repeat(indent);
  const nested = (v: unknown): v is object => v !== null && typeof v === 'object' && !isEmpty(v);
  if (Array.isArray(value) && value.length > 0) {
    return value.flatMap((item) => {
      const [first = '', ...rest] = lines(item, indent + 2);
      return [`${pad}- ${first.trimStart()}`, ...rest];
    });
  }
  if (nested(value)) {
    return Object.entries(value).flatMap(([key, v]) => {
      const name = /^[A-Za-z0-9_.-]+$/.test(key) ? key : JSON.stringify(key);
      return nested(v) ? [`${pad}${name}:`, ...lines(v, indent + 2)] : [`${pad}${name}: ${scalar(v)}`];
    });
  }
  return [pad + scalar(value)];
}
