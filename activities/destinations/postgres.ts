/**
 * PostgreSQL: one table per resource (`zendesk_tickets`, ...) and per sideload
 * (`zendesk_tickets__users`, ...), keyed by (account, id), holding the newest version of each record
 * as jsonb, built from the record's text as Zendesk sent it. Each page is one transaction that upserts
 * its records (one statement, however many records) and moves the export's checkpoint row, so the
 * database always agrees with the position it has reached: a page retried after a crash writes
 * nothing twice and loses nothing, and a late retry of an old page never overwrites a newer version.
 * Typed columns are generated from the jsonb, and the derived tables (custom fields, comments, field
 * changes) are rebuilt from the current rows in the same transaction, so both always agree with it.
 * A target that keeps history also adds every version of tickets, users and organizations to their
 * `…_versions` tables in that transaction, each (account, id, version) once.
 *
 * The worker's configuration names the targets (PostgresTarget); clients only name a target. The
 * password comes from PGPASSWORD; messages name the target only, never its host, a user or a password.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Pool, type PoolClient } from 'pg';
import { parse } from 'pg-connection-string';
import { RESOURCE_SPECS, type Resource } from '../../zendesk/endpoints';
import { SIDELOAD_VERSION_FIELD, versionSecond, type PageRecord } from '../../zendesk/page';
import { runMigrations, type MigrationSet } from './migrate';
import { DestinationConfigError, DestinationError, DestinationRecordError, type BatchTrouble, type CheckpointKey, type Destination, type PageWrite } from './destination';

/** Applied in order, each once per database (zendesk_schema_migrations names those applied). */
const MIGRATIONS = ['001_tables.sql', '002_checkpoint_origin.sql', '003_checkpoint_run.sql', '004_typed_tables.sql', '005_ticket_metrics.sql', '006_export_state.sql'];
/** Applied after them for a target that keeps history: its `…_versions` tables, filled once from the current rows. */
const HISTORY_MIGRATIONS = ['history/001_versions.sql'];

/**
 * The export's tables, as the shared runner applies them. A database written by 0.2.1 (which ran
 * 001-003 on every start, and records none) runs them again harmlessly: they create only what is missing.
 */
export function destinationMigrations(options: { history?: boolean } = {}): MigrationSet {
  return {
    ledger: { table: 'zendesk_schema_migrations', column: 'name', type: 'text' },
    lock: 0x7a646d67, // 'zdmg', the lock 0.3.0's workers take too
    migrations: () =>
      [...MIGRATIONS, ...(options.history ? HISTORY_MIGRATIONS : [])].map((id) => ({ id, sql: readFileSync(path.join(__dirname, 'migrations', id), 'utf8') })),
  };
}

/** The resources whose every version a target with history keeps in `<table>_versions`. */
const VERSIONED: readonly Resource[] = ['tickets', 'users', 'organizations'];

/** Tables derived from a resource's current rows, rebuilt for the page's records in its transaction (see 004_typed_tables.sql). */
const DERIVE: Partial<Record<Resource, string>> = {
  tickets: 'zendesk_derive_ticket_custom_fields',
  ticket_events: 'zendesk_derive_ticket_events',
};

/** A database the worker may write to, by the name clients use for it. */
export interface PostgresTarget {
  name: string;
  url: string;
  /** Keep every version of tickets, users and organizations in `…_versions` tables, beside the current row. */
  history?: boolean;
}

/** URL parameters that carry secrets: PGPASSWORD is the one place for the password. */
const SECRET_PARAMS = ['password', 'sslpassword'];

/**
 * Checks a configured target's URL with the driver's own parser and returns how messages name it
 * (`host:port/database`). Throws DestinationConfigError, without repeating the URL, when it is not a
 * postgres URL or carries a secret.
 */
export function describePostgresTarget(target: PostgresTarget): string {
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    throw new DestinationConfigError(`The Postgres target "${target.name}" is not a URL such as postgres://user@host:5432/database.`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new DestinationConfigError(`The Postgres target "${target.name}" must be a postgres:// URL.`);
  }
  if (url.password || SECRET_PARAMS.some((p) => url.searchParams.has(p))) {
    throw new DestinationConfigError(`The Postgres target "${target.name}" has a password in its URL; give it to the worker in PGPASSWORD instead.`);
  }
  const parsed = parse(target.url);
  return `${parsed.host ?? 'localhost'}:${parsed.port ?? 5432}/${parsed.database ?? ''}`;
}

/** A table name from fixed parts only (resources and sideload names from the endpoint table). */
export function tableName(resource: string, sideload?: string): string {
  const name = sideload ? `zendesk_${resource}__${sideload}` : `zendesk_${resource}`;
  if (!/^[a-z_]+$/.test(name)) throw new DestinationError(`Unexpected table name ${name}`);
  return name;
}

const ignore = () => undefined;

/** Sets an export's row of zendesk_export_states (see 006_export_state.sql). */
const SET_STATE = `INSERT INTO zendesk_export_states (export_id, account, resource, status, reason) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (export_id) DO UPDATE SET account = excluded.account, resource = excluded.resource, status = excluded.status,
    reason = excluded.reason, updated_at = now()`;
/** How long a batch that ends in trouble waits to record it: the database may be the trouble. */
const TROUBLE_WAIT_MS = 5_000;

/** The newest version of each id among a page's records (a page may hold an id once per version). */
function newestById(records: readonly PageRecord[], versionField: string): Map<string, PageRecord> {
  const newest = new Map<string, PageRecord>();
  for (const r of records) {
    const prev = newest.get(String(r.value.id));
    if (!prev || (versionSecond(r.value, versionField) ?? 0) >= (versionSecond(prev.value, versionField) ?? 0)) newest.set(String(r.value.id), r);
  }
  return newest;
}

/** A row of the upsert, as JSON text around the record's own text (never re-serialised). */
function rowText(record: PageRecord, versionField: string, where: string): string {
  const id = record.value.id;
  if (!(typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) && !(typeof id === 'string' && /^\d{1,18}$/.test(id))) {
    throw new DestinationRecordError(`A record of ${where} has no numeric id (${JSON.stringify(id)?.slice(0, 40)}), so Postgres cannot key it; the export stopped.`);
  }
  const version = versionSecond(record.value, versionField) ?? 0;
  return `{"id":"${id}","version":${version},"record":${record.text}}`;
}

export function postgresDestination(target: PostgresTarget): Destination {
  describePostgresTarget(target);
  const where = `Postgres target "${target.name}"`;
  const pool = new Pool({ connectionString: target.url, max: 8 });
  pool.on('error', ignore); // An idle client dropped by the server: the next page reconnects.
  const ready = new Set<string>();
  const migrations = destinationMigrations({ history: target.history });
  let migrated: Promise<void> | undefined;

  /** The schema brought up to date once per destination; asked again after a failure. */
  function migrate(): Promise<void> {
    return (migrated ??= runMigrations(pool, migrations).catch((err) => {
      migrated = undefined;
      throw err;
    }));
  }

  function describeError(err: unknown): string {
    const e = err as { code?: string; message?: string };
    if (e.code === 'ECONNREFUSED') return `${where} refused the connection`;
    if (e.code === '28P01' || e.code === '28000') return `${where} rejected the credentials (set PGPASSWORD for the worker)`;
    if (e.code === '42501') return `The Postgres user may not create or write the export tables at ${where}: ${e.message}`;
    if (e.code === '3D000') return `The database of ${where} does not exist`;
    // A connection error's message names the host and port: only its code leaves the worker.
    if (!/^[0-9A-Z]{5}$/.test(e.code ?? '')) return `${where} is unreachable (${e.code ?? 'network error'})`;
    return `Postgres error at ${where}: ${e.code} ${e.message ?? String(err)}`.replace(/postgres(ql)?:\/\/\S+/g, 'postgres://…').trim();
  }

  async function upsert(client: PoolClient, table: string, page: PageWrite, rows: string[]): Promise<void> {
    if (rows.length === 0) return;
    if (!ready.has(table)) {
      await client.query('SELECT zendesk_create_record_table($1)', [table]);
      ready.add(table);
    }
    // One round trip per page; the newest version wins, even against a late retry of an old page.
    await client.query(
      `INSERT INTO ${table} (account, id, version, record, export_id)
       SELECT $1, (r->>'id')::bigint, (r->>'version')::bigint, r->'record', $2 FROM jsonb_array_elements($3::jsonb) AS r
       ON CONFLICT (account, id) DO UPDATE SET version = excluded.version, record = excluded.record, export_id = excluded.export_id, written_at = now()
       WHERE ${table}.version <= excluded.version`,
      [page.account, page.exportId, `[${rows.join(',')}]`],
    );
  }

  /** Every version of the page's records, each (account, id, version) once however often the page is written. */
  async function keepVersions(client: PoolClient, page: PageWrite, rows: string[]): Promise<void> {
    if (!target.history || !VERSIONED.includes(page.resource) || rows.length === 0) return;
    const table = `${tableName(page.resource)}_versions`;
    await client.query(
      `INSERT INTO ${table} (account, id, version, record, export_id)
       SELECT $1, (r->>'id')::bigint, (r->>'version')::bigint, r->'record', $2 FROM jsonb_array_elements($3::jsonb) AS r
       ON CONFLICT (account, id, version) DO NOTHING`,
      [page.account, page.exportId, `[${rows.join(',')}]`],
    );
  }

  /** The derived rows of the page's records, from their current rows (a late old page's records keep the newer ones). */
  async function derive(client: PoolClient, page: PageWrite, ids: string[]): Promise<void> {
    const fn = DERIVE[page.resource];
    if (fn && ids.length) await client.query(`SELECT ${fn}($1, $2::bigint[])`, [page.account, ids]);
  }

  /** After Postgres refused a page's data: which record it was, tried one by one. */
  async function findRefusedRecord(page: PageWrite, err: unknown): Promise<DestinationRecordError | undefined> {
    if (!String((err as { code?: string }).code ?? '').startsWith('22')) return undefined;
    for (const record of [...page.records, ...Object.values(page.sideloads).flat()]) {
      try {
        await pool.query('SELECT $1::jsonb', [record.text]);
      } catch (e) {
        return new DestinationRecordError(
          `${where} cannot store ${page.resource} record ${String(record.value.id)} (${(e as Error).message}); the export stopped at page ${page.pageNumber}.`,
        );
      }
    }
    return undefined;
  }

  return {
    async writePage(page) {
      const { versionField } = RESOURCE_SPECS[page.resource];
      const newest = newestById(page.records, versionField);
      const rows = [...newest.values()].map((r) => rowText(r, versionField, page.resource));
      const versions = target.history ? page.records.map((r) => rowText(r, versionField, page.resource)) : [];
      const sideloads = Object.entries(page.sideloads).map(([name, records]) => ({
        table: tableName(page.resource, name),
        // Sideloads carry no version field of their own; where they have an updated_at, the newest wins.
        rows: [...newestById(records, SIDELOAD_VERSION_FIELD).values()].map((r) => rowText(r, SIDELOAD_VERSION_FIELD, `${page.resource} sideload ${name}`)),
      }));
      let client: PoolClient | undefined;
      let failed = false;
      try {
        await migrate();
        client = await pool.connect();
        // A server that dies mid-page also emits 'error' on the checked-out client: the query rejects
        // anyway, and an unheard 'error' event would take the whole worker down.
        client.on('error', ignore);
        await client.query('BEGIN');
        await upsert(client, tableName(page.resource), page, rows);
        await keepVersions(client, page, versions);
        await derive(client, page, [...newest.keys()]);
        for (const s of sideloads) await upsert(client, s.table, page, s.rows);
        // The column is named `run`, as 0.2.x created it: it holds the batch's checkpoint.
        const moved = await client.query(
          `INSERT INTO zendesk_export_checkpoints (export_id, origin, page_number, position, run) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (export_id) DO UPDATE SET origin = excluded.origin, page_number = excluded.page_number, position = excluded.position,
             run = excluded.run, updated_at = now()
           WHERE (zendesk_export_checkpoints.origin, zendesk_export_checkpoints.page_number) <= (excluded.origin, excluded.page_number)`,
          [page.exportId, page.origin, page.pageNumber, JSON.stringify(page.at), JSON.stringify(page.checkpoint)],
        );
        // A late retry of an older page leaves the checkpoint where it is, and the status it set with it.
        if (moved.rowCount) await client.query(SET_STATE, [page.exportId, page.account, page.resource, page.endOfStream ? 'caught-up' : 'exporting', null]);
        await client.query('COMMIT');
      } catch (err) {
        failed = true;
        await client?.query('ROLLBACK').catch(() => undefined);
        throw (await findRefusedRecord(page, err).catch(() => undefined)) ?? new DestinationError(describeError(err));
      } finally {
        client?.off('error', ignore);
        client?.release(failed); // A client that failed may be broken: the pool drops it.
      }
    },
    async readCheckpoint(key) {
      try {
        await migrate();
        const { rows } = await pool.query('SELECT run FROM zendesk_export_checkpoints WHERE export_id = $1 AND origin = $2', [key.exportId, key.origin]);
        return rows[0]?.run ?? undefined;
      } catch {
        return undefined; // Unreachable now: the heartbeat is the only record; the write will say what is wrong.
      }
    },
    async recordTrouble(key: CheckpointKey, trouble: BatchTrouble, reason: string) {
      let timer: NodeJS.Timeout | undefined;
      const giveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, TROUBLE_WAIT_MS)));
      const record = migrate().then(() => pool.query(SET_STATE, [key.exportId, key.account, key.resource, trouble, reason.slice(0, 1000)]));
      // Best effort: a database that cannot take the status now is what the export's own status says.
      await Promise.race([record.then(ignore, ignore), giveUp]);
      clearTimeout(timer);
    },
    close: () => pool.end(),
  };
}
