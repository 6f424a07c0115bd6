/** Temporal's two PostgreSQL databases, created and brought to the newest schema with temporal-sql-tool. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { PostgresServer } from '../devserver/postgres';
import { DATABASES } from './config';

/** The same steps as the upstream set-up scripts: create, set up versioning at 0.0, apply every version. */
export async function setUpSchemas(sqlTool: string, schemaDir: string, pg: PostgresServer): Promise<void> {
  // The password goes through the environment, out of sight of `ps`.
  const env = { ...process.env, SQL_PASSWORD: pg.password ?? '' };
  const base = ['--plugin', 'postgres12', '--ep', pg.host, '--port', String(pg.port), '--user', pg.user];
  const run = async (args: string[]) => {
    try {
      await promisify(execFile)(sqlTool, [...base, ...args], { env });
    } catch (err) {
      const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
      throw new Error(`temporal-sql-tool ${args.join(' ')} failed:\n${stdout}${stderr}`);
    }
  };
  for (const [database, folder] of [[DATABASES.default, 'temporal'], [DATABASES.visibility, 'visibility']] as const) {
    await run(['--db', database, 'create-database']);
    await run(['--db', database, 'setup-schema', '--version', '0.0']);
    await run(['--db', database, 'update-schema', '--schema-dir', path.join(schemaDir, folder, 'versioned')]);
  }
}
