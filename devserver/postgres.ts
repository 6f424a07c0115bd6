/**
 * A real PostgreSQL server: a fresh cluster in a temp folder on a free port (Debian's `postgresql`
 * package, which `.ci/run` installs), for the tests and the multi-service Temporal cluster; stopped and
 * removed by `stop()`.
 *
 * `pg_ctl` starts the postmaster as the leader of its own process group, so, as with the dev server, a
 * watchdog kills that group if this process dies without stopping it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, HOST } from './ports';
import { guardGroup, killGroup } from './process';

export interface PostgresOptions {
  /** The superuser's name. @default 'postgres' */
  user?: string;
  /** Require this password (scram-sha-256) on TCP connections; without one, TCP connections are trusted. */
  password?: string;
}

export interface PostgresServer {
  /** Connection URL for the `postgres` database, with the password when there is one. */
  url: string;
  host: string;
  port: number;
  user: string;
  password?: string;
  /** PID of the postmaster (also its process group id) while it runs. */
  readonly pid: number | undefined;
  /** Stops the server as a crash would (immediate shutdown), keeping its data. */
  down(): void;
  /** Starts it again on the same port and data. */
  up(): void;
  stop(): Promise<void>;
}


function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((v) => path.join(root, v, 'bin')).find((d) => existsSync(path.join(d, 'initdb')));
  if (!found) throw new Error('PostgreSQL is not installed: apt-get install postgresql (".ci/run" does).');
  return found;
}

const asRoot = () => process.getuid?.() === 0;

/** Postgres refuses to run as root; as root, run its tools as the `postgres` user. */
function run(bin: string, args: string[]): void {
  const [cmd, argv] = asRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  execFileSync(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Makes a file or folder the `postgres` user's when running as root (its tools run as that user). */
function handOver(file: string): void {
  if (asRoot()) spawnSync('chown', ['postgres', file]);
}

/** A new database cluster in `data`: password authentication over TCP when there is a password, else trust. */
function initCluster(bin: string, dir: string, data: string, user: string, password: string | undefined): void {
  const initdb = ['-D', data, '-U', user, '--no-sync'];
  if (password === undefined) {
    initdb.push('-A', 'trust');
  } else {
    // Password over TCP, as a real deployment has it; the local socket stays trusted for maintenance.
    const pwfile = path.join(dir, 'pwfile');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    handOver(pwfile);
    initdb.push('--auth-host=scram-sha-256', '--auth-local=trust', `--pwfile=${pwfile}`);
  }
  try {
    run(path.join(bin, 'initdb'), initdb);
  } finally {
    rmSync(path.join(dir, 'pwfile'), { force: true });
  }
}

/** The postmaster of `data` on `port`, started and stopped by pg_ctl, its process group guarded while it runs. */
function postmaster(bin: string, dir: string, data: string, port: number) {
  let guard: { release(): void } | undefined;
  let pid: number | undefined;
  const release = () => {
    guard?.release();
    guard = undefined;
    pid = undefined;
  };
  return {
    get pid() {
      return pid;
    },
    up() {
      run(path.join(bin, 'pg_ctl'), ['-D', data, '-w', '-l', path.join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=${HOST} -c fsync=off`, 'start']);
      pid = Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      guard = guardGroup(pid);
    },
    down() {
      try {
        run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        release();
      }
    },
  };
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const bin = binDir();
  const user = options.user ?? 'postgres';
  const { password } = options;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-pg-'));
  chmodSync(dir, 0o777);
  handOver(dir);
  const data = path.join(dir, 'data');
  const port = await freePort();
  initCluster(bin, dir, data, user, password);
  const server = postmaster(bin, dir, data, port);
  server.up();

  const auth = password === undefined ? encodeURIComponent(user) : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
  return {
    url: `postgres://${auth}@${HOST}:${port}/postgres`,
    host: HOST,
    port,
    user,
    password,
    get pid() {
      return server.pid;
    },
    down: () => server.down(),
    up: () => server.up(),
    async stop() {
      const last = server.pid;
      try {
        server.down();
      } catch {
        // Already stopped.
      }
      if (last !== undefined) killGroup(last); // Anything of it still alive.
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
