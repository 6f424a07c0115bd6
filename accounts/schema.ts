/**
 * The registry's tables, as numbered migrations. Each runs once, in its own transaction, under an
 * advisory lock, so workers and admins that start together neither race nor run one twice.
 */
import type { Pool } from 'pg';

/** pg_advisory_xact_lock key of the registry's migrations ("zdreg" in ASCII). */
const MIGRATION_LOCK = 0x7a64726567;

export const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE zendesk_registry_accounts (
        account            text PRIMARY KEY,
        method             text NOT NULL CHECK (method IN ('oauth_refresh', 'oauth_client_credentials', 'oauth_token', 'api_token')),
        base_url           text,
        client_id          text,
        email              text,
        scope              text,
        status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'needs-reauthorization')),
        -- Bumped by every admin change (add, connect): workers rebuild the account's client.
        version            bigint NOT NULL DEFAULT 1,
        -- The key that sealed both secrets below (they are always sealed together).
        key_id             text NOT NULL,
        -- Sealed JSON: client secret, refresh token, API token or static OAuth token.
        secrets            text NOT NULL,
        -- Sealed: the current OAuth access token, shared by every worker until it is due.
        access_token       text,
        access_issued_at   timestamptz,
        access_expires_at  timestamptz,
        refreshes          bigint NOT NULL DEFAULT 0,
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now()
      );`,
  },
];

export async function migrate(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS zendesk_registry_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM zendesk_registry_migrations');
    const done = rows[0]?.version ?? 0;
    for (const m of MIGRATIONS.filter((m) => m.version > done)) {
      await client.query(m.sql);
      await client.query('INSERT INTO zendesk_registry_migrations (version) VALUES ($1)', [m.version]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
