/** The activities the worker registers, built from the worker's own configuration. */
import path from 'node:path';
import { registryClients } from '../accounts/clients';
import { keyringFromEnv } from '../accounts/keys';
import { openRegistry, registryUrl, type AccountRegistry } from '../accounts/registry';
import { accountUrl } from '../zendesk/account';
import { createAuthProvider, fileTokenStore, memoryTokenStore, type TokenStore } from '../zendesk/auth';
import { accountConfig, type Env } from '../zendesk/credentials';
import { ZendeskConfigError } from '../zendesk/errors';
import { AnswerMemory } from '../zendesk/answer-memory';
import { DEFAULT_ANSWER_MEMORY_BYTES, DEFAULT_MAX_RESPONSE_BYTES, ZendeskClient } from '../zendesk/http-client';
import type { RateCeilings } from '../zendesk/endpoints';
import type { DestinationRef, BatchInput } from '../contract/page-activity';
import { createDestinations, destinationConfigFromEnv, type Destination, type DestinationConfig } from './destinations';
import { checkDestinationWith, fetchPagesWith, type FetchPagesDeps, type PageEvent } from './fetch-pages';
import { rateCeilingsFromEnv } from './rate-ceiling';
import type { ShareGrant } from '../contract/share';
import { createSealer, isGenuine, sealedBatch, sealKeyFromEnv, sealShares, type SealClaim } from './seal';

export interface ActivityOptions {
  /** Where credentials and base URLs come from. @default process.env */
  env?: Env;
  /**
   * The account registry a fleet of workers shares; when there is one, it alone says which accounts
   * the worker serves and with what credentials. @default from ZENDESK_REGISTRY_URL and ZENDESK_REGISTRY_KEY(_FILE), else none
   */
  registry?: AccountRegistry;
  /** Where rotated OAuth refresh tokens are kept (without a registry). @default the file ZENDESK_TOKEN_STORE, else memory */
  tokenStore?: TokenStore;
  /** Where exports may write. @default from `env` (ZENDESK_EXPORT_OUTPUT_ROOT, ZENDESK_EXPORT_POSTGRES*) */
  destinations?: DestinationConfig;
  /** Wraps each destination (tests inject faults here). */
  wrapDestination?: (destination: Destination, ref: BatchInput['target']['destination']) => Destination;
  observe?: (event: PageEvent) => void;
  /** The key results are sealed with, the same on every worker. @default from `env` (ZENDESK_EXPORT_SEAL_KEY; activities/seal.ts) */
  sealKey?: string;
  /** Ceilings per rate bucket, over those of `env` (ZENDESK_RATE_CEILING). @default Zendesk's published limits */
  rateCeilings?: Partial<RateCeilings>;
  /** Aborts when the worker begins to stop: resting batches report at once. */
  stopping?: AbortSignal;
  /**
   * Batches the worker may hold at once and still let one rest (between follow polls or rounds):
   * past it a batch reports instead of holding its activity slot. @default no limit
   */
  restingBatches?: number;
}

/** ZENDESK_REQUEST_TIMEOUT_SECONDS: how long one request may take, its whole answer read, before it is abandoned and retried. */
function requestTimeoutMs(env: Env): number | undefined {
  const value = env.ZENDESK_REQUEST_TIMEOUT_SECONDS;
  if (value === undefined || value === '') return undefined;
  const seconds = Number(value);
  if (!(seconds > 0 && seconds <= 3600)) throw new ZendeskConfigError(`ZENDESK_REQUEST_TIMEOUT_SECONDS must be a number of seconds from 1 to 3600, not "${value}".`);
  return seconds * 1000;
}

/** ZENDESK_MAX_RESPONSE_MB: answers larger than this are refused (a page of 1000 tickets with sideloads is a few MiB). */
function maxResponseBytes(env: Env): number | undefined {
  const value = env.ZENDESK_MAX_RESPONSE_MB;
  if (value === undefined || value === '') return undefined;
  const mb = Number(value);
  if (!(mb >= 1 && mb <= 4096)) throw new ZendeskConfigError(`ZENDESK_MAX_RESPONSE_MB must be a number of MiB from 1 to 4096, not "${value}".`);
  return mb * 1024 * 1024;
}

/**
 * ZENDESK_MAX_ANSWERS_MB: the bytes of answers the worker process holds at once, across all its batches
 * (default twice the largest answer, at least 512 MiB).
 */
function answerMemoryBytes(env: Env, maxAnswer: number): number {
  const value = env.ZENDESK_MAX_ANSWERS_MB;
  const fallback = Math.max(DEFAULT_ANSWER_MEMORY_BYTES, 2 * maxAnswer);
  if (value === undefined || value === '') return fallback;
  const mb = Number(value);
  if (!(mb >= 1 && mb <= 65536 && mb * 1024 * 1024 >= maxAnswer)) {
    throw new ZendeskConfigError(`ZENDESK_MAX_ANSWERS_MB must be a number of MiB from ZENDESK_MAX_RESPONSE_MB (${maxAnswer / 1048576}) to 65536, not "${value}".`);
  }
  return mb * 1024 * 1024;
}

export function createActivities(options: ActivityOptions = {}) {
  const env = options.env ?? process.env;
  const tokenStore =
    options.tokenStore ?? (env.ZENDESK_TOKEN_STORE ? fileTokenStore(path.resolve(env.ZENDESK_TOKEN_STORE)) : memoryTokenStore());
  const timeoutMs = requestTimeoutMs(env);
  const maxBytes = maxResponseBytes(env);
  const memory = new AnswerMemory(answerMemoryBytes(env, maxBytes ?? DEFAULT_MAX_RESPONSE_BYTES));
  const destinationConfig = options.destinations ?? destinationConfigFromEnv(env);
  const destinations = createDestinations(destinationConfig);
  const clients = new Map<string, ZendeskClient>();
  const registry =
    options.registry ?? (env.ZENDESK_REGISTRY_URL ? openRegistry(registryUrl(env.ZENDESK_REGISTRY_URL, destinationConfig.postgres), keyringFromEnv(env)) : undefined);
  const fleet = registry && registryClients(registry, { timeoutMs, maxResponseBytes: maxBytes, memory });
  const sealer = createSealer(options.sealKey !== undefined ? Buffer.from(options.sealKey) : sealKeyFromEnv(env));
  const ceilings = rateCeilingsFromEnv(env, options.rateCeilings);
  let batchesHeld = 0;
  const restingBatches = options.restingBatches ?? Infinity;

  const deps: FetchPagesDeps = {
    clientFor(account) {
      if (fleet) return fleet.clientFor(account);
      let client = clients.get(account);
      if (!client) {
        const config = accountConfig(account, env);
        const url = accountUrl(account, config.baseUrl);
        client = new ZendeskClient({ account, url, timeoutMs, maxResponseBytes: maxBytes, memory, auth: createAuthProvider(account, url, config.credentials, tokenStore) });
        clients.set(account, client);
      }
      return client;
    },
    destinationFor(ref) {
      const destination = destinations.destinationFor(ref);
      return options.wrapDestination ? options.wrapDestination(destination, ref) : destination;
    },
    observe: options.observe,
    stopping: options.stopping,
    refresh: fleet && (() => fleet.refresh()),
    mayRest: () => batchesHeld <= restingBatches,
  };

  return {
    /** Up to `maxRequests` pages in a row: fetch, drop boundary repeats, write, heartbeat the position. */
    fetchPages: (input: BatchInput) =>
      sealedBatch(sealer, input, async (context) => {
        batchesHeld++;
        try {
          await fleet?.refresh(); // Accounts added or removed in the registry count from the next batch.
          return await fetchPagesWith(deps, input, context);
        } finally {
          batchesHeld--;
        }
      }),
    /** Refuses, in one sentence, a destination this worker would not write to (before an export waits for budget). */
    checkDestination: (ref: DestinationRef) => checkDestinationWith(deps, ref),
    /** Local activity: whether this deployment's workers made a batch's result or failure, or a coordinator's share (by its seal). */
    isGenuine: async (claim: SealClaim) => isGenuine(sealer, claim),
    /** Local activity: the coordinator's shares, sealed for the exports they are for (a setShare signal may come from anyone). */
    sealShares: async (grants: ShareGrant[]) => sealShares(sealer, grants),
    /** Local activity: the operator's ceiling per rate bucket, read once by each workflow run. */
    rateCeilings: async () => ceilings,
  };
}

export type ExportActivities = ReturnType<typeof createActivities>;
