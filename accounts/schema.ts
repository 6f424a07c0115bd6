/**
 * The registry's tables, as numbered migrations, applied by the project's one migration runner
 * (activities/destinations/migrate.ts): each once, under an advisory lock, so workers and admins that
 * start together neither race nor run one twice.
 */
import type { Pool } from 'pg';
import { runMigrations, type MigrationSet } from '../activities/destinations/migrate';

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

/** The registry's migrations, as the shared runner applies them (ledger and lock as they have always been). */
export const REGISTRY_MIGRATIONS: MigrationSet = {
  ledger: { table: 'zendesk_registry_migrations', column: 'version', type: 'int' },
  lock: MIGRATION_LOCK,
  migrations: () => MIGRATIONS.map((m) => ({ id: String(m.version), sql: m.sql })),
};

export const migrate = (pool: Pool): Promise<void> => runMigrations(pool, REGISTRY_MIGRATIONS);
