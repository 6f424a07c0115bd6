/**
 * A worker's Zendesk clients for the registry's accounts. What the registry lists is read again when
 * it is older than REGISTRY_MAX_AGE_MS (before a batch, and before each follow poll of one), so an
 * account added or removed while workers run takes effect within seconds, without a restart: a removed
 * account's exports fail at their next batch or poll, and an account connected again gets a new client.
 */
import { accountUrl } from '../zendesk/account';
import { ZendeskClient } from '../zendesk/http-client';
import type { AnswerMemory } from '../zendesk/answer-memory';
import { needsReauthorization, notInRegistry, registryAuthProvider } from './registry-auth';
import type { AccountRegistry, AccountRow } from './registry';

export const REGISTRY_MAX_AGE_MS = 10_000;

export interface RegistryClients {
  /** Reads the registry's accounts again when the last read is older than REGISTRY_MAX_AGE_MS. */
  refresh(): Promise<void>;
  /** The account's client, from the last read; throws one sentence for an account the registry lacks or that needs reconnecting. */
  clientFor(account: string): ZendeskClient;
}

export function registryClients(
  registry: AccountRegistry,
  options: { timeoutMs?: number; maxResponseBytes?: number; memory?: AnswerMemory },
  maxAgeMs = REGISTRY_MAX_AGE_MS,
): RegistryClients {
  let rows = new Map<string, AccountRow>();
  let readAt = -Infinity;
  let reading: Promise<void> | undefined;
  const clients = new Map<string, { version: number; client: ZendeskClient }>();

  async function read(): Promise<void> {
    const list = await registry.list();
    rows = new Map(list.map((r) => [r.account, r]));
    readAt = Date.now();
    for (const account of clients.keys()) if (!rows.has(account)) clients.delete(account);
  }

  return {
    async refresh() {
      if (Date.now() - readAt < maxAgeMs) return;
      await (reading ??= read().finally(() => (reading = undefined)));
    },
    clientFor(account) {
      const row = rows.get(account);
      if (!row) throw notInRegistry(account, registry.where);
      if (row.status === 'needs-reauthorization') throw needsReauthorization(account);
      const known = clients.get(account);
      if (known?.version === row.version) return known.client;
      const url = accountUrl(account, row.baseUrl);
      const client = new ZendeskClient({ account, url, ...options, auth: registryAuthProvider(registry, row, url) });
      clients.set(account, { version: row.version, client });
      return client;
    },
  };
}
