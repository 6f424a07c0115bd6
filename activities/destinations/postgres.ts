/**
 * PostgreSQL: one table per resource (`zendesk_tickets`, ...) and per sideload
 * (`zendesk_tickets__users`, ...), keyed by (account, id), holding the newest version of each record
 * as jsonb. Each page is one transaction that upserts its records (one statement, however many
 * records) and moves the export's checkpoint row, so the database always agrees with the position it
 * has reached: a page retried after a crash writes nothing twice and loses nothing, and a late retry
 * of an old page never overwrites a newer version.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Pool, type PoolClient } from 'pg';
import { RESOURCE_SPECS } from '../../zendesk/endpoints';
import { versionSecond, type ZendeskRecord } from '../../zendesk/page';
import { DestinationError, type PageSink, type PageWrite } from './destination';

const MIGRATIONS = ['001_tables.sql'];

/** A table name from fixed parts only (resources and sideload names from the endpoint table). */
export function tableName(resource: string, sideload?: string): string {
  const name = sideload ? `zendesk_${resource}__${sideload}` : `zendesk_${resource}`;
  if (!/^[a-z_]+$/.test(name)) throw new DestinationError(`Unexpected table name ${name}`);
  return name;
}

const tableSql = (table: string) => `
  CREATE TABLE IF NOT EXISTS ${table} (
    account    text   NOT NULL,
    id         bigint NOT NULL,
    version    bigint NOT NULL,
    record     jsonb  NOT NULL,
    export_id  text   NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account, id)
  );
  CREATE INDEX IF NOT EXISTS ${table}_version ON ${table} (account, version);`;

/** Test hook: the worker kills itself right after committing this page, before the activity completes. */
const CRASH_AFTER_COMMIT = Number(process.env.ZENDESK_EXPORT_CRASH_AFTER_COMMIT_PAGE ?? 0);

function describeError(err: unknown, url: string): string {
  const e = err as { code?: string; message?: string };
  const where = url.replace(/\/\/[^@/]*@/, '//');
  if (e.code === 'ECONNREFUSED') return `Postgres refused the connection at ${where}`;
  if (e.code === '28P01' || e.code === '28000') return `Postgres rejected the credentials for ${where} (set PGPASSWORD for the worker)`;
  if (e.code === '42501') return `The Postgres user may not create or write the export tables at ${where}: ${e.message}`;
  if (e.code === '3D000') return `Postgres database missing at ${where}: ${e.message}`;
  return `Postgres error at ${where}: ${e.code ?? ''} ${e.message ?? String(err)}`.trim();
}

const ignore = () => undefined;

export function postgresSink(url: string): PageSink {
  const pool = new Pool({ connectionString: url, max: 8 });
  pool.on('error', ignore); // An idle client dropped by the server: the next page reconnects.
  const ready = new Set<string>();
  let migrated: Promise<void> | undefined;

  async function migrate(): Promise<void> {
    for (const file of MIGRATIONS) await pool.query(readFileSync(path.join(__dirname, 'migrations', file), 'utf8'));
  }

  async function ensureTable(client: PoolClient, table: string): Promise<void> {
    if (ready.has(table)) return;
    await client.query(tableSql(table));
    ready.add(table);
  }

  async function upsert(client: PoolClient, table: string, page: PageWrite, records: readonly ZendeskRecord[], versionField?: string): Promise<void> {
    if (records.length === 0) return;
    await ensureTable(client, table);
    const rows = records.map((record) => ({ id: Number(record.id), version: versionField ? (versionSecond(record, versionField) ?? 0) : 0, record }));
    // One round trip per page; the newest version wins, even against a late retry of an old page.
    await client.query(
      `INSERT INTO ${table} (account, id, version, record, export_id)
       SELECT $1, (r->>'id')::bigint, (r->>'version')::bigint, r->'record', $2 FROM jsonb_array_elements($3::jsonb) AS r
       ON CONFLICT (account, id) DO UPDATE SET version = excluded.version, record = excluded.record, export_id = excluded.export_id, written_at = now()
       WHERE ${table}.version <= excluded.version`,
      [page.account, page.exportId, JSON.stringify(rows)],
    );
  }

  return {
    async writePage(page) {
      let client: PoolClient | undefined;
      let failed = false;
      try {
        migrated ??= migrate().catch((err) => {
          migrated = undefined;
          throw err;
        });
        await migrated;
        client = await pool.connect();
        // A server that dies mid-page also emits 'error' on the checked-out client: the query rejects
        // anyway, and an unheard 'error' event would take the whole worker down.
        client.on('error', ignore);
        await client.query('BEGIN');
        // A page holds each id once per version; keep the newest per id for the upsert.
        const newest = new Map<string, ZendeskRecord>();
        const { versionField } = RESOURCE_SPECS[page.resource];
        for (const r of page.records) {
          const prev = newest.get(String(r.id));
          if (!prev || (versionSecond(r, versionField) ?? 0) >= (versionSecond(prev, versionField) ?? 0)) newest.set(String(r.id), r);
        }
        await upsert(client, tableName(page.resource), page, [...newest.values()], versionField);
        for (const [name, records] of Object.entries(page.sideloads)) {
          const unique = [...new Map(records.map((r) => [String(r.id), r])).values()];
          await upsert(client, tableName(page.resource, name), page, unique);
        }
        await client.query(
          `INSERT INTO zendesk_export_checkpoints (export_id, page_number, position) VALUES ($1, $2, $3)
           ON CONFLICT (export_id) DO UPDATE SET page_number = excluded.page_number, position = excluded.position, updated_at = now()
           WHERE zendesk_export_checkpoints.page_number <= excluded.page_number`,
          [page.exportId, page.pageNumber, JSON.stringify(page.next)],
        );
        await client.query('COMMIT');
        if (CRASH_AFTER_COMMIT && page.pageNumber === CRASH_AFTER_COMMIT) process.kill(process.pid, 'SIGKILL');
      } catch (err) {
        failed = true;
        await client?.query('ROLLBACK').catch(() => undefined);
        throw new DestinationError(describeError(err, pool.options.connectionString ?? ''));
      } finally {
        client?.off('error', ignore);
        client?.release(failed); // A client that failed may be broken: the pool drops it.
      }
    },
    close: () => pool.end(),
  };
}
