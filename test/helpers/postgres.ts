/** A real PostgreSQL server for tests: the one implementation lives with the dev-server launcher. */
export { startPostgres, type PostgresServer } from '../../devserver/postgres';
