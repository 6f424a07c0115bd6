/**
 * The account registry: the accounts a fleet of workers serves, in PostgreSQL, shared by every worker
 * and by the admin commands (`zendesk-export accounts ...`), never reachable through Temporal. Plain
 * columns say what an account is (method, base URL, client id, status); its secrets and its current
 * OAuth access token are sealed (keys.ts). A refresh runs in a refresher process of its own
 * (refresher.ts), which holds the account's row lock across the token request (withGrant), so the fleet
 * refreshes each grant once at a time, the others use its result, and a worker killed meanwhile loses
 * nothing.
 */
import { Pool, type PoolClient } from 'pg';
import { describePostgresTarget } from '../activities/destinations/postgres';
import type { Credentials } from '../zendesk/auth';
import { isAccountName } from '../zendesk/account';
import { ZendeskConfigError, ZendeskError, ZendeskTransientError } from '../zendesk/errors';
import type { Keyring, Sealed } from './keys';
import type { RefreshOutcome } from './refresh';
import { runRefresher } from './refresher-process';
import { migrate } from './schema';

export type AccountMethod = 'oauth_refresh' | 'oauth_client_credentials' | 'oauth_token' | 'api_token';
export type AccountStatus = 'active' | 'needs-reauthorization';

/** What an account is: nothing secret. */
export interface AccountEntry {
  account: string;
  method: AccountMethod;
  baseUrl?: string;
  clientId?: string;
  email?: string;
  scope?: string;
}

/** The secrets of an account, by method: sealed in the registry. */
export interface AccountSecrets {
  clientSecret?: string;
  refreshToken?: string;
  /** An API token or a static OAuth access token. */
  token?: string;
}

export interface AccountRow extends AccountEntry {
  status: AccountStatus;
  version: number;
  keyId: string;
  accessExpiresAt?: Date;
  refreshes: number;
  updatedAt: Date;
}

export interface AccessToken {
  token: string;
  issuedAt: number;
  expiresAt: number;
}

/** An account as a worker uses it: its credentials and its current access token, opened. */
export interface Grant {
  row: AccountRow;
  credentials: Credentials;
  access?: AccessToken;
}

export interface AccountRegistry {
  /** How messages name it: host:port/database. */
  readonly where: string;
  /** Adds an account; `replace` replaces one of the same name (a reconnected grant), `access` stores the access token that came with it. */
  add(entry: AccountEntry, secrets: AccountSecrets, options?: { replace?: boolean; access?: AccessToken }): Promise<void>;
  list(): Promise<AccountRow[]>;
  remove(account: string): Promise<boolean>;
  /** The account with its secrets opened, undefined when the registry lacks it. */
  grant(account: string): Promise<Grant | undefined>;
  /**
   * Runs `use` holding the account's row lock (one holder across the fleet), with the account as the
   * lock found it; `save` stores a new access token (and rotated refresh token) in the same transaction,
   * which commits when `use` returns. Undefined when the registry lacks the account.
   */
  withGrant<T>(account: string, use: (grant: Grant, save: (access: AccessToken, refreshToken?: string) => Promise<void>) => Promise<T>): Promise<T | undefined>;
  /**
   * Refreshes the account's grant in a refresher process (refresher.ts) and waits for it, unless the
   * registry holds a token other than `stale` that is not due yet; then read the token with grant().
   */
  refresh(account: string, stale: string | undefined): Promise<RefreshOutcome>;
  /**
   * Marks the account as needing re-authorization if its refresh token is still `refused` (under the row
   * lock, so a refresh or reconnection in flight commits first); false when the registry has moved on.
   */
  markLost(account: string, refused: string): Promise<boolean>;
  /** Re-seals every account's secrets with the current key; returns how many. */
  rotateKey(): Promise<number>;
  close(): Promise<void>;
}

/** How long a transaction waits for an account's row lock before it fails (and is retried). */
const LOCK_TIMEOUT_S = 60;

const COLUMNS = 'account, method, base_url, client_id, email, scope, status, version, key_id, secrets, access_token, access_issued_at, access_expires_at, refreshes, updated_at';

interface DbRow {
  account: string;
  method: AccountMethod;
  base_url: string | null;
  client_id: string | null;
  email: string | null;
  scope: string | null;
  status: AccountStatus;
  version: string;
  key_id: string;
  secrets: string;
  access_token: string | null;
  access_issued_at: Date | null;
  access_expires_at: Date | null;
  refreshes: string;
  updated_at: Date;
}

function rowOf(r: DbRow): AccountRow {
  return {
    account: r.account,
    method: r.method,
    baseUrl: r.base_url ?? undefined,
    clientId: r.client_id ?? undefined,
    email: r.email ?? undefined,
    scope: r.scope ?? undefined,
    status: r.status,
    version: Number(r.version),
    keyId: r.key_id,
    accessExpiresAt: r.access_expires_at ?? undefined,
    refreshes: Number(r.refreshes),
    updatedAt: r.updated_at,
  };
}

/** The credentials an entry and its secrets make; throws ZendeskConfigError naming what is missing. */
export function credentialsOf(entry: AccountEntry, secrets: AccountSecrets): Credentials {
  const missing = (what: string) => new ZendeskConfigError(`Account "${entry.account}" (${entry.method}) has no ${what} in the registry; add it again.`);
  switch (entry.method) {
    case 'oauth_refresh':
      if (!entry.clientId) throw missing('client id');
      if (!secrets.refreshToken) throw missing('refresh token');
      return { kind: 'oauth_refresh', clientId: entry.clientId, clientSecret: secrets.clientSecret, refreshToken: secrets.refreshToken };
    case 'oauth_client_credentials':
      if (!entry.clientId) throw missing('client id');
      if (!secrets.clientSecret) throw missing('client secret');
      return { kind: 'oauth_client_credentials', clientId: entry.clientId, clientSecret: secrets.clientSecret, scope: entry.scope };
    case 'oauth_token':
      if (!secrets.token) throw missing('access token');
      return { kind: 'oauth_token', accessToken: secrets.token };
    case 'api_token':
      if (!entry.email) throw missing('email');
      if (!secrets.token) throw missing('API token');
      return { kind: 'api_token', email: entry.email, token: secrets.token };
  }
}

/** ZENDESK_REGISTRY_URL: a postgres:// URL (the password in PGPASSWORD), or the name of one of the worker's Postgres targets. */
export function registryUrl(value: string, targets: Record<string, string>): string {
  const url = /^postgres(ql)?:/.test(value) ? value : Object.hasOwn(targets, value) ? targets[value]! : undefined;
  if (!url) throw new ZendeskConfigError(`ZENDESK_REGISTRY_URL is neither a postgres:// URL nor the name of a Postgres target of this worker (ZENDESK_EXPORT_POSTGRES_<NAME>).`);
  try {
    describePostgresTarget({ name: 'registry', url });
  } catch (err) {
    throw new ZendeskConfigError(`ZENDESK_REGISTRY_URL: ${(err as Error).message}`);
  }
  return url;
}

export function openRegistry(url: string, keys: Keyring): AccountRegistry {
  const where = describePostgresTarget({ name: 'registry', url });
  const pool = new Pool({ connectionString: url, max: 8 });
  pool.on('error', () => undefined); // An idle client dropped by the server: the next query reconnects.
  let ready: Promise<void> | undefined;

  /** A database failure as one sentence that names the registry, never its URL's user. */
  function failure(err: unknown): Error {
    if (err instanceof ZendeskError) return err;
    const e = err as { code?: string; message?: string };
    if (e.code === '28P01' || e.code === '28000') return new ZendeskConfigError(`The account registry at ${where} rejected the credentials (set PGPASSWORD).`);
    const what = [e.code, e.message ?? String(err)].filter(Boolean).join(' ');
    return new ZendeskTransientError(`The account registry at ${where} failed: ${what}`.replace(/postgres(ql)?:\/\/\S+/g, 'postgres://…'));
  }

  async function query<R extends object>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      await (ready ??= migrate(pool).catch((err) => {
        ready = undefined;
        throw err;
      }));
      return (await pool.query<R>(sql, params)).rows;
    } catch (err) {
      throw failure(err);
    }
  }

  const bound = (account: string, field: string) => `${account}/${field}`;
  const sealed = (r: DbRow, box: string): Sealed => ({ keyId: r.key_id, box });

  function open(r: DbRow): Grant {
    const row = rowOf(r);
    const secrets = JSON.parse(keys.open(sealed(r, r.secrets), bound(r.account, 'secrets'), `secret of account "${r.account}"`)) as AccountSecrets;
    const access =
      r.access_token && r.access_expires_at
        ? {
            token: keys.open(sealed(r, r.access_token), bound(r.account, 'access'), `access token of account "${r.account}"`),
            issuedAt: (r.access_issued_at ?? r.updated_at).getTime(),
            expiresAt: r.access_expires_at.getTime(),
          }
        : undefined;
    return { row, credentials: credentialsOf(row, secrets), access };
  }

  /** Both secrets sealed with the current key (they share the row's key id). */
  function seal(account: string, secrets: AccountSecrets, access?: AccessToken) {
    const s = keys.seal(JSON.stringify(secrets), bound(account, 'secrets'));
    return { keyId: s.keyId, secrets: s.box, access: access ? keys.seal(access.token, bound(account, 'access')).box : null };
  }

  function secretsOf(c: Credentials): AccountSecrets {
    if (c.kind === 'oauth_refresh') return { clientSecret: c.clientSecret, refreshToken: c.refreshToken };
    if (c.kind === 'oauth_client_credentials') return { clientSecret: c.clientSecret };
    if (c.kind === 'oauth_token') return { token: c.accessToken };
    if (c.kind === 'api_token') return { token: c.token };
    return {};
  }

  /** Runs `use` in a transaction holding the account's row lock (one holder across the fleet); undefined when the registry lacks it. */
  function locked<T>(account: string, use: (client: PoolClient, grant: Grant) => Promise<T>): Promise<T | undefined> {
    return inTransaction(async (client) => {
      const { rows } = await client.query<DbRow>(`SELECT ${COLUMNS} FROM zendesk_registry_accounts WHERE account = $1 FOR UPDATE`, [account]);
      return rows[0] ? use(client, open(rows[0])) : undefined;
    });
  }

  async function inTransaction<T>(use: (client: PoolClient) => Promise<T>): Promise<T> {
    await query('SELECT 1');
    let client: PoolClient | undefined;
    try {
      client = await pool.connect();
      client.on('error', () => undefined);
      await client.query('BEGIN');
      // A row lock is held across one token request (30 s at most): a longer wait means a holder is stuck.
      await client.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT_S}s'`);
      const result = await use(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client?.query('ROLLBACK').catch(() => undefined);
      throw failure(err);
    } finally {
      client?.release();
    }
  }

  return {
    where,
    async add(entry, secrets, options = {}) {
      if (!isAccountName(entry.account)) throw new ZendeskConfigError(`"${entry.account}" is not a Zendesk account name (a subdomain).`);
      credentialsOf(entry, secrets); // Refuses an incomplete entry before it is stored.
      const s = seal(entry.account, secrets, options.access);
      const at = (ms: number | undefined) => (ms === undefined ? null : new Date(ms));
      const params = [
        entry.account, entry.method, entry.baseUrl ?? null, entry.clientId ?? null, entry.email ?? null, entry.scope ?? null, s.keyId, s.secrets,
        s.access, at(options.access?.issuedAt), at(options.access?.expiresAt),
      ];
      const insert = `INSERT INTO zendesk_registry_accounts (account, method, base_url, client_id, email, scope, key_id, secrets, access_token, access_issued_at, access_expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`;
      const rows = await query<{ account: string }>(
        options.replace
          ? `${insert} ON CONFLICT (account) DO UPDATE SET method = excluded.method, base_url = excluded.base_url, client_id = excluded.client_id,
               email = excluded.email, scope = excluded.scope, key_id = excluded.key_id, secrets = excluded.secrets, status = 'active',
               access_token = excluded.access_token, access_issued_at = excluded.access_issued_at, access_expires_at = excluded.access_expires_at,
               version = zendesk_registry_accounts.version + 1, updated_at = now()
             RETURNING account`
          : `${insert} ON CONFLICT (account) DO NOTHING RETURNING account`,
        params,
      );
      if (rows.length === 0) throw new ZendeskConfigError(`Account "${entry.account}" is already in the registry; remove it first, or connect it again.`);
    },
    async list() {
      return (await query<DbRow>(`SELECT ${COLUMNS} FROM zendesk_registry_accounts ORDER BY account`)).map(rowOf);
    },
    async remove(account) {
      return (await query('DELETE FROM zendesk_registry_accounts WHERE account = $1 RETURNING account', [account])).length > 0;
    },
    async grant(account) {
      const [r] = await query<DbRow>(`SELECT ${COLUMNS} FROM zendesk_registry_accounts WHERE account = $1`, [account]);
      return r ? open(r) : undefined;
    },
    withGrant(account, use) {
      return locked(account, (client, grant) =>
        use(grant, async (access, refreshToken) => {
          const secrets = { ...secretsOf(grant.credentials), ...(refreshToken ? { refreshToken } : {}) };
          const s = seal(account, secrets, access);
          await client.query(
            `UPDATE zendesk_registry_accounts SET key_id = $2, secrets = $3, access_token = $4, access_issued_at = $5, access_expires_at = $6,
               refreshes = refreshes + $7, updated_at = now() WHERE account = $1`,
            [account, s.keyId, s.secrets, s.access, new Date(access.issuedAt), new Date(access.expiresAt), refreshToken ? 1 : 0],
          );
        }),
      );
    },
    refresh: (account, stale) => runRefresher({ url, password: process.env.PGPASSWORD, keys: keys.text() }, { account, stale }),
    async markLost(account, refused) {
      const marked = await locked(account, async (client, { credentials }) => {
        if (credentials.kind !== 'oauth_refresh' || credentials.refreshToken !== refused) return false;
        await client.query(`UPDATE zendesk_registry_accounts SET status = 'needs-reauthorization', updated_at = now() WHERE account = $1`, [account]);
        return true;
      });
      return marked === true;
    },
    async rotateKey() {
      const accounts = await query<{ account: string }>('SELECT account FROM zendesk_registry_accounts WHERE key_id <> $1', [keys.currentId]);
      for (const { account } of accounts) {
        // Under the row lock: a refresh in flight elsewhere finishes first, and its token is re-sealed.
        await locked(account, async (client, grant) => {
          const s = seal(account, secretsOf(grant.credentials), grant.access);
          await client.query('UPDATE zendesk_registry_accounts SET key_id = $2, secrets = $3, access_token = $4 WHERE account = $1', [account, s.keyId, s.secrets, s.access]);
        });
      }
      return accounts.length;
    },
    close: () => pool.end(),
  };
}
