/**
 * The one migration runner, on a real PostgreSQL: many clients starting at once apply each migration
 * once; a migration that fails leaves nothing of its batch; and a database that 0.3.0 left, holding both
 * the export's tables and the account registry, is migrated in place by the export's destination and the
 * registry at once, each keeping its own ledger.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Pool } from 'pg';
import { keyring } from '../../accounts/keys';
import { openRegistry } from '../../accounts/registry';
import { MIGRATIONS as REGISTRY_MIGRATIONS } from '../../accounts/schema';
import { runMigrations, type Migration, type MigrationSet } from '../../activities/destinations/migrate';
import { postgresDestination } from '../../activities/destinations/postgres';
import { startPostgres, type PostgresServer } from '../helpers/postgres';

let pg: PostgresServer;
const opened: { end(): Promise<void> }[] = [];

beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await Promise.all(opened.map((c) => c.end()));
  await pg?.stop();
});

async function newDatabase(name: string): Promise<{ url: string; db: Client }> {
  const admin = new Client({ connectionString: pg.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = pg.url.replace(/\/postgres$/, `/${name}`);
  const db = new Client({ connectionString: url });
  await db.connect();
  opened.push(db);
  return { url, db };
}

function pools(url: string, n: number): Pool[] {
  const made = Array.from({ length: n }, () => new Pool({ connectionString: url, max: 2 }));
  opened.push(...made);
  return made;
}

/** A set whose migrations each count themselves in `runs`, so a migration run twice shows. */
function countingSet(migrations: Migration[]): MigrationSet {
  return { ledger: { table: 'test_migrations', column: 'name', type: 'text' }, lock: 4242, migrations: () => migrations };
}
const counting = (id: string, extra = ''): Migration => ({ id, sql: `CREATE TABLE IF NOT EXISTS runs (id text); INSERT INTO runs VALUES ('${id}'); ${extra}` });

test('many clients at once apply each migration once; a later one alone; a failing one leaves nothing of its batch', async () => {
  const { url, db } = await newDatabase('runner');
  const first = [counting('001'), counting('002', 'CREATE TABLE t (a int);')];
  await Promise.all(pools(url, 6).map((p) => runMigrations(p, countingSet(first))));
  const runs = async () => (await db.query('SELECT id FROM runs ORDER BY id')).rows.map((r) => r.id);
  expect(await runs()).toEqual(['001', '002']);

  // A batch whose second migration fails: neither it nor the one before it stays, and the ledger says so.
  const broken = [...first, counting('003', 'ALTER TABLE t ADD COLUMN b int;'), counting('004', 'SELECT 1/0;')];
  await expect(runMigrations(pools(url, 1)[0]!, countingSet(broken))).rejects.toThrow(/division by zero/);
  expect(await runs()).toEqual(['001', '002']);
  expect((await db.query("SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 't' AND column_name = 'b'")).rows[0].n).toBe(0);

  const mended = [...first, counting('003', 'ALTER TABLE t ADD COLUMN b int;'), counting('004')];
  await Promise.all(pools(url, 4).map((p) => runMigrations(p, countingSet(mended))));
  expect(await runs()).toEqual(['001', '002', '003', '004']);
  expect((await db.query('SELECT name FROM test_migrations ORDER BY name')).rows.map((r) => r.name)).toEqual(['001', '002', '003', '004']);
});

test('a database 0.3.0 left, with the export tables and the registry in it, is migrated in place by both at once', async () => {
  const { url, db } = await newDatabase('from_0_3_0');
  // As 0.3.0 left it: the export's four migrations in its ledger, the registry's first in its own.
  const files = ['001_tables.sql', '002_checkpoint_origin.sql', '003_checkpoint_run.sql', '004_typed_tables.sql'];
  for (const file of files) await db.query(readFileSync(path.resolve(__dirname, '..', '..', 'activities', 'destinations', 'migrations', file), 'utf8'));
  await db.query('CREATE TABLE zendesk_schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  for (const file of files) await db.query('INSERT INTO zendesk_schema_migrations (name) VALUES ($1)', [file]);
  await db.query(REGISTRY_MIGRATIONS[0]!.sql);
  await db.query('CREATE TABLE zendesk_registry_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  await db.query('INSERT INTO zendesk_registry_migrations (version) VALUES (1)');
  await db.query(`INSERT INTO zendesk_tickets (account, id, version, record, export_id) VALUES ('acme', 1, 100, '{"id":1,"status":"open"}', 'x')`);
  const appliedAt = (await db.query("SELECT applied_at FROM zendesk_schema_migrations WHERE name = '004_typed_tables.sql'")).rows[0].applied_at;

  const destinations = [0, 1, 2].map((i) => postgresDestination({ name: `w${i}`, url }));
  const registries = [0, 1, 2].map(() => openRegistry(url, keyring([randomBytes(32)])));
  try {
    const key = { account: 'acme', resource: 'tickets', exportId: 'x', origin: 'o', owner: { workflowId: 'x' } } as const;
    const [, listed] = await Promise.all([Promise.all(destinations.map((d) => d.readCheckpoint(key))), Promise.all(registries.map((r) => r.list()))]);
    expect(listed).toEqual([[], [], []]); // The registry answers: its migration was not run again over its table.
  } finally {
    await Promise.all([...destinations.map((d) => d.close()), ...registries.map((r) => r.close())]);
  }
  const ledger = (await db.query('SELECT name, applied_at FROM zendesk_schema_migrations ORDER BY name')).rows;
  expect(ledger.map((r) => r.name)).toEqual([...files, '005_ticket_metrics.sql', '006_export_state.sql']);
  expect(ledger[3].applied_at).toEqual(appliedAt); // Not applied again.
  expect((await db.query('SELECT version FROM zendesk_registry_migrations')).rows).toEqual([{ version: 1 }]);
  expect((await db.query("SELECT status FROM zendesk_tickets WHERE account = 'acme'")).rows).toEqual([{ status: 'open' }]);
  expect((await db.query('SELECT count(*)::int AS n FROM zendesk_ticket_metrics')).rows[0].n).toBe(0);
});
