/**
 * The one way this project brings a PostgreSQL database to its schema, for the export's tables and the
 * account registry alike: migrations applied in order, each once per database and recorded in a ledger
 * table, all those due in one transaction under an advisory lock, so that workers and admins starting at
 * once migrate a database once and none of them sees it half done.
 *
 * Each set keeps the ledger and the lock it has always had, so databases written by earlier versions are
 * migrated in place, and a worker of an earlier version running beside this one waits on the same lock.
 */
import type { Pool } from 'pg';

export interface Migration {
  /** How the ledger names it once applied. */
  id: string;
  sql: string;
}

export interface MigrationSet {
  /** The table that records which migrations were applied, and its key column (an id as text or an int). */
  ledger: { table: string; column: string; type: 'text' | 'int' };
  /** The pg_advisory_xact_lock key that one migrating client at a time holds. */
  lock: number;
  /** In the order they apply; read when the runner runs, not when a module is loaded. */
  migrations: () => readonly Migration[];
}

const ignore = () => undefined;

/** Applies the set's migrations that the ledger does not name yet. */
export async function runMigrations(pool: Pool, set: MigrationSet): Promise<void> {
  const { table, column, type } = set.ledger;
  if (!/^[a-z_]+$/.test(table) || !/^[a-z_]+$/.test(column)) throw new Error(`Unexpected migration ledger ${table}.${column}`);
  const client = await pool.connect();
  client.on('error', ignore); // A server that goes away mid-migration: the query rejects anyway.
  let failed = false;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [set.lock]);
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (${column} ${type} PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const applied = new Set((await client.query<{ id: string }>(`SELECT ${column}::text AS id FROM ${table}`)).rows.map((r) => r.id));
    const due = set.migrations().filter((m) => !applied.has(m.id));
    for (const m of due) {
      await client.query(m.sql);
      await client.query(`INSERT INTO ${table} (${column}) VALUES ($1)`, [m.id]);
    }
    await client.query('COMMIT');
  } catch (err) {
    failed = true;
    await client.query('ROLLBACK').catch(ignore);
    throw err;
  } finally {
    client.off('error', ignore);
    client.release(failed); // A client that failed may be broken: the pool drops it.
  }
}
