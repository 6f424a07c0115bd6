/**
 * Temporal connection settings, from flags, then the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS*, ...), then the SDK's env-config profile (TEMPORAL_PROFILE, the
 * temporal.toml file). Shared by the client and the worker; any cluster or Temporal Cloud. With codec
 * keys (ZENDESK_EXPORT_CODEC_KEYS or ZENDESK_EXPORT_CODEC_KEYS_FILE), both encrypt every payload.
 */
import net from 'node:net';
import type { DataConverter } from '@temporalio/common';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { codecDataConverter, codecKeysFromEnv, CodecKeyError, type CodecKeys } from '../codec';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { DEFAULT_TASK_QUEUE } from '../workflows/ids';
import { UserError } from './errors';

export interface TemporalOptions {
  /** host:port. @default TEMPORAL_ADDRESS, the profile's address, or localhost:7233 */
  address?: string;
  /** @default TEMPORAL_NAMESPACE, the profile's namespace, or "default" */
  namespace?: string;
  /** An env-config profile name. @default TEMPORAL_PROFILE or "default" */
  profile?: string;
  /** Temporal Cloud API key (turns TLS on). @default TEMPORAL_API_KEY */
  apiKey?: string;
  /** Use TLS. @default TEMPORAL_TLS, or on with an API key */
  tls?: boolean;
  /** Task queue of the export workers. @default ZENDESK_EXPORT_TASK_QUEUE or "zendesk-export" */
  taskQueue?: string;
  /** Payload codec keys, the one that encodes first. @default ZENDESK_EXPORT_CODEC_KEYS or ZENDESK_EXPORT_CODEC_KEYS_FILE, else none (payloads plain) */
  codecKeys?: CodecKeys;
}

export interface ResolvedTemporalOptions {
  connectionOptions: NativeConnectionOptions;
  namespace: string;
  address: string;
  taskQueue: string;
  /** Encrypts payloads when codec keys are configured; undefined otherwise. */
  dataConverter?: DataConverter;
}

export function resolveTemporalOptions(options: TemporalOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedTemporalOptions {
  let loaded: ReturnType<typeof loadClientConnectConfig>;
  try {
    loaded = loadClientConnectConfig({
      profile: options.profile,
      overrideEnvVars: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)),
    });
  } catch (err) {
    // The SDK's message names the profile or file; it holds no secret (keys are never quoted).
    throw new UserError(`The Temporal connection settings cannot be used: ${String((err as Error)?.message ?? err).split('\n')[0]}`);
  }
  const connectionOptions: NativeConnectionOptions = { ...loaded.connectionOptions };
  if (options.address) connectionOptions.address = options.address;
  if (options.apiKey) connectionOptions.apiKey = options.apiKey;
  // --tls turns TLS on; it never replaces TLS settings a profile or TEMPORAL_TLS_* gave (a CA, a server name, a client certificate).
  if (options.tls === false) connectionOptions.tls = false;
  else if (options.tls && !connectionOptions.tls) connectionOptions.tls = true;
  if (connectionOptions.apiKey && connectionOptions.tls === undefined) connectionOptions.tls = true;
  let codecKeys: CodecKeys | undefined;
  try {
    codecKeys = options.codecKeys ?? codecKeysFromEnv(env);
  } catch (err) {
    if (err instanceof CodecKeyError) throw new UserError(err.message);
    throw err;
  }
  return {
    connectionOptions,
    namespace: options.namespace ?? loaded.namespace ?? 'default',
    address: connectionOptions.address ?? 'localhost:7233',
    taskQueue: options.taskQueue ?? env.ZENDESK_EXPORT_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    dataConverter: codecDataConverter(codecKeys),
  };
}

/**
 * True when nothing listens at `address` (the connection is refused, or the host has no address): said
 * at once, where gRPC would retry until its connect timeout. A host that does not answer at all is
 * left to that timeout.
 */
export function refusesConnections(address: string, waitMs = 2_000): Promise<boolean> {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  if (!match) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = net.connect({ host: match[1] ?? match[2], port: Number(match[3]) });
    const done = (refused: boolean) => {
      socket.destroy();
      resolve(refused);
    };
    socket.setTimeout(waitMs, () => done(false));
    socket.once('connect', () => done(false));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND'));
  });
}
