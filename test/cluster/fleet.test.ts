/**
 * The fleet on the production-shaped cluster: three worker processes of the real CLI, each reaching the
 * cluster through its env-config profile (mutual TLS) and sharing one account registry in the
 * cluster's PostgreSQL (password in PGPASSWORD), 20 accounts connected with `accounts connect`, each on a
 * refresh token that rotates at every refresh while access tokens live 5 seconds, two exports per account
 * at once, and 10 workers killed with SIGKILL at moments picked at random, 5 of them while Zendesk
 * answers (300 ms late) a refresh the killed worker asked for: its refresher, a process of its own,
 * commits the rotated tokens all the same. test/helpers/fleet.ts says what is checked: every export
 * exact, no refresh token refused, every grant alive, no secret in a history, a log or a plain column,
 * no refresher left. The exports are long (100 pages each) so that all 10 kills land on a slow machine
 * too: a kill mid-refresh waits for a refresh in flight, and exports of 30 pages once ended after 5.
 * The workers have a task queue of their own, so the stack's two workers (which hold other
 * credentials) never take these exports.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { Client, Connection } from '@temporalio/client';
import { keyring } from '../../accounts/keys';
import { SIMULATOR_RATE_CEILING } from '../../simulator';
import { openRegistry, type AccountRegistry } from '../../accounts/registry';
import { ExportClient } from '../../client/export-client';
import { runFleetScenario, type Fleet } from '../helpers/fleet';
import { clusterSuite, PROFILE, useClusterStack } from './stack';
import { startWorkerProcess, type WorkerProcess } from '../../devserver/worker-process';

const ACCOUNTS = Array.from({ length: 20 }, (_, i) => `fleet${i + 1}`);

const stack = useClusterStack({ accounts: ACCOUNTS, simulator: { sizes: { tickets: 1000, users: 1000 }, accessTokenTtlSeconds: 5, faults: { latencyMs: 100, tokenAnswerLatencyMs: 300 } } });

clusterSuite('a fleet of workers sharing the account registry', () => {
  let registry: AccountRegistry | undefined;
  let connection: Connection | undefined;
  const workers = new Set<WorkerProcess>();

  afterAll(async () => {
    await Promise.all([...workers].map((w) => w.kill('SIGKILL')));
    await registry?.close();
    await connection?.close();
  });

  test('3 workers, 20 accounts on rotating refresh tokens, 2 exports each, 10 SIGKILLs (5 mid-refresh): exact, no refused refresh, grants alive, no secret anywhere', async () => {
    const { host, port, user, password = '' } = stack.cluster.postgres;
    const admin = new PgClient({ host, port, user, password, database: 'postgres' });
    await admin.connect();
    await admin.query('CREATE DATABASE zendesk_registry').finally(() => admin.end());
    const key = randomBytes(32);
    const keyFile = path.join(stack.root, 'registry.key');
    writeFileSync(keyFile, key.toString('base64'), { mode: 0o600 });
    const url = `postgres://${user}@${host}:${port}/zendesk_registry`;
    process.env.PGPASSWORD = password; // For this process's own registry connection, as for the workers: never in the URL.
    registry = openRegistry(url, keyring([key]));
    const adminEnv = { ZENDESK_REGISTRY_URL: url, ZENDESK_REGISTRY_KEY_FILE: keyFile, PGPASSWORD: password };
    const taskQueue = `${stack.taskQueue}-fleet`;
    connection = await Connection.connect({ address: stack.cluster.address, tls: stack.cluster.tls });
    const temporal = new Client({ connection, namespace: stack.cluster.namespace });
    let started = 0;
    const fleet: Fleet = {
      sim: stack.sim, registry, temporal, root: stack.root, adminEnv,
      client: new ExportClient({ client: temporal, taskQueue, startTimeoutMs: 60_000 }),
      async startWorker() {
        const worker = startWorkerProcess({
          name: `fleet-${++started}`,
          args: ['--profile', PROFILE, '--task-queue', taskQueue, 'worker', '--output-root', stack.root, '--log-level', 'INFO'],
          env: { TEMPORAL_CONFIG_FILE: stack.profileFile, ...adminEnv, ZENDESK_RATE_CEILING: SIMULATOR_RATE_CEILING },
          inheritEnv: false,
        });
        workers.add(worker);
        void worker.exited.then(() => workers.delete(worker));
        return worker; // Not waiting until it polls: the next kill may land while it starts.
      },
    };
    const { kills, killsDuringRefresh } = await runFleetScenario(fleet, {
      accounts: ACCOUNTS, resources: ['tickets', 'users'], workers: 3, kills: 10, killsDuringRefresh: 5, pagesBetweenKills: [5, 20], seed: 2027,
    });
    expect(kills).toBe(10);
    expect(killsDuringRefresh).toBe(5);
  }, 30 * 60_000);
});
