/** The activities the worker registers, built from the worker's own configuration. */
import path from 'node:path';
import { accountConfig, type Env } from '../zendesk/credentials';
import { createAuthProvider, fileTokenStore, memoryTokenStore, type TokenStore } from '../zendesk/auth';
import { accountBaseUrl, ZendeskClient } from '../zendesk/http-client';
import { ZendeskConfigError } from '../zendesk/errors';
import type { FetchPageInput } from '../workflows/types';
import type { PageSink } from './destinations/destination';
import { ndjsonSink } from './destinations/ndjson';
import { postgresSink } from './destinations/postgres';
import { fetchPageWith, type FetchPageDeps, type PageEvent } from './fetch-page';

export interface ActivityOptions {
  /** Where credentials and base URLs come from. @default process.env */
  env?: Env;
  /** Where rotated OAuth refresh tokens are kept. @default the file ZENDESK_TOKEN_STORE, else memory */
  tokenStore?: TokenStore;
  /** Destinations other than NDJSON (Postgres) plug in here. */
  sinkFor?: (destination: FetchPageInput['destination']) => PageSink | undefined;
  observe?: (event: PageEvent) => void;
}

/** ZENDESK_REQUEST_TIMEOUT_SECONDS: how long one request may take before it is abandoned and retried. */
function requestTimeoutMs(env: Env): number | undefined {
  const value = env.ZENDESK_REQUEST_TIMEOUT_SECONDS;
  if (value === undefined || value === '') return undefined;
  const seconds = Number(value);
  if (!(seconds > 0)) throw new ZendeskConfigError(`ZENDESK_REQUEST_TIMEOUT_SECONDS must be a number of seconds above 0, not "${value}".`);
  return seconds * 1000;
}

export function createActivities(options: ActivityOptions = {}) {
  const env = options.env ?? process.env;
  const tokenStore =
    options.tokenStore ?? (env.ZENDESK_TOKEN_STORE ? fileTokenStore(path.resolve(env.ZENDESK_TOKEN_STORE)) : memoryTokenStore());
  const timeoutMs = requestTimeoutMs(env);
  const clients = new Map<string, ZendeskClient>();
  const sinks = new Map<string, PageSink>();

  const deps: FetchPageDeps = {
    clientFor(account) {
      let client = clients.get(account);
      if (!client) {
        const config = accountConfig(account, env);
        const baseUrl = accountBaseUrl(account, config.baseUrl);
        client = new ZendeskClient({ account, baseUrl, timeoutMs, auth: createAuthProvider(account, baseUrl, config.credentials, tokenStore) });
        clients.set(account, client);
      }
      return client;
    },
    sinkFor(destination) {
      const key = JSON.stringify(destination);
      let sink = sinks.get(key);
      if (!sink) {
        sink = options.sinkFor?.(destination) ?? (destination.kind === 'ndjson' ? ndjsonSink(destination.dir) : postgresSink(destination.url));
        sinks.set(key, sink);
      }
      return sink;
    },
    observe: options.observe,
  };

  return {
    /** One page: fetch, drop boundary repeats, write, return the next position and counts. */
    fetchPage: (input: FetchPageInput) => fetchPageWith(deps, input),
  };
}
