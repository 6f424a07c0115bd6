/** The activities the worker registers, built from the worker's own configuration. */
import path from 'node:path';
import { accountUrl } from '../zendesk/account';
import { createAuthProvider, fileTokenStore, memoryTokenStore, type TokenStore } from '../zendesk/auth';
import { accountConfig, type Env } from '../zendesk/credentials';
import { ZendeskConfigError } from '../zendesk/errors';
import { ZendeskClient } from '../zendesk/http-client';
import type { RateCeilings } from '../zendesk/endpoints';
import type { FetchPagesInput } from './contract';
import { createDestinations, destinationConfigFromEnv, type Destination, type DestinationConfig } from './destinations';
import { fetchPagesWith, type FetchPagesDeps, type PageEvent } from './fetch-pages';
import { rateCeilingsFromEnv } from './rate-ceiling';
import { createSealer, isGenuine, sealedRun, sealKeyFromEnv, type SealClaim } from './seal';

export interface ActivityOptions {
  /** Where credentials and base URLs come from. @default process.env */
  env?: Env;
  /** Where rotated OAuth refresh tokens are kept. @default the file ZENDESK_TOKEN_STORE, else memory */
  tokenStore?: TokenStore;
  /** Where exports may write. @default from `env` (ZENDESK_EXPORT_OUTPUT_ROOT, ZENDESK_EXPORT_POSTGRES*) */
  destinations?: DestinationConfig;
  /** Wraps each destination (tests inject faults here). */
  wrapDestination?: (destination: Destination, ref: FetchPagesInput['target']['destination']) => Destination;
  observe?: (event: PageEvent) => void;
  /** The key results are sealed with, the same on every worker. @default from `env` (ZENDESK_EXPORT_SEAL_KEY; activities/seal.ts) */
  sealKey?: string;
  /** Ceilings per rate bucket, over those of `env` (ZENDESK_RATE_CEILING). @default Zendesk's published limits */
  rateCeilings?: Partial<RateCeilings>;
}

/** ZENDESK_REQUEST_TIMEOUT_SECONDS: how long one request may take before it is abandoned and retried. */
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

export function createActivities(options: ActivityOptions = {}) {
  const env = options.env ?? process.env;
  const tokenStore =
    options.tokenStore ?? (env.ZENDESK_TOKEN_STORE ? fileTokenStore(path.resolve(env.ZENDESK_TOKEN_STORE)) : memoryTokenStore());
  const timeoutMs = requestTimeoutMs(env);
  const maxBytes = maxResponseBytes(env);
  const destinations = createDestinations(options.destinations ?? destinationConfigFromEnv(env));
  const clients = new Map<string, ZendeskClient>();
  const sealer = createSealer(options.sealKey !== undefined ? Buffer.from(options.sealKey) : sealKeyFromEnv(env));
  const ceilings = rateCeilingsFromEnv(env, options.rateCeilings);

  const deps: FetchPagesDeps = {
    clientFor(account) {
      let client = clients.get(account);
      if (!client) {
        const config = accountConfig(account, env);
        const url = accountUrl(account, config.baseUrl);
        client = new ZendeskClient({ account, url, timeoutMs, maxResponseBytes: maxBytes, auth: createAuthProvider(account, url, config.credentials, tokenStore) });
        clients.set(account, client);
      }
      return client;
    },
    destinationFor(ref) {
      const destination = destinations.destinationFor(ref);
      return options.wrapDestination ? options.wrapDestination(destination, ref) : destination;
    },
    observe: options.observe,
  };

  return {
    /** Up to `maxRequests` pages in a row: fetch, drop boundary repeats, write, heartbeat the position. */
    fetchPages: (input: FetchPagesInput) => sealedRun(sealer, input, (context) => fetchPagesWith(deps, input, context)),
    /** Local activity: whether this deployment's workers made a run's result or failure (by its seal). */
    isGenuine: async (claim: SealClaim) => isGenuine(sealer, claim),
    /** Local activity: the operator's ceiling per rate bucket, read once by each workflow run. */
    rateCeilings: async () => ceilings,
  };
}

export type ExportActivities = ReturnType<typeof createActivities>;
