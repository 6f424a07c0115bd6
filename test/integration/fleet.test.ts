/**
 * A small fleet: two worker processes (the real CLI) sharing one account registry on a real PostgreSQL,
 * four accounts connected with `accounts connect`, each on a refresh token that rotates at every refresh
 * while access tokens live 3 seconds, two exports per account at once, and workers killed with SIGKILL
 * at moments picked at random. Every export is exact, no refresh token is ever refused, every grant is
 * alive at the end, and no secret is in a workflow history, a worker's log or a plain registry column.
 * An export of an account the registry lacks is refused. The full version (3 workers, 20 accounts, 10
 * kills) is in the cluster suite.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { keyring } from '../../accounts/keys';
import { openRegistry, type AccountRegistry } from '../../accounts/registry';
import { registryAuthProvider } from '../../accounts/registry-auth';
import { ExportClient } from '../../client/export-client';
import { startWorkerProcess, type WorkerProcess } from '../../devserver/worker-process';
import { DEFAULT_OAUTH, seededRandom, startSimulator, type Simulator } from '../../simulator';
import { accountUrl } from '../../zendesk/account';
import { RESOURCE_SPECS, type Resource } from '../../zendesk/endpoints';
import { connectWithCli } from '../helpers/accounts';
import { duplicates, newestById, readRecords, versionKeys } from '../helpers/output';
import { startPostgres, type PostgresServer } from '../helpers/postgres';
import { createDevServerEnv, startDevServer, type DevServer } from '../helpers/temporal';

const ACCOUNTS = ['acme', 'beta', 'gamma', 'delta'];
const RESOURCES: Resource[] = ['tickets', 'users'];
const KILLS = 3;
const TASK_QUEUE = 'fleet-test';

let server: DevServer;
let pg: PostgresServer;
let sim: Simulator;
let env: TestWorkflowEnvironment;
let registry: AccountRegistry;
let dir: string;
let out: string;
const workers = new Set<WorkerProcess>();
const logs: string[] = [];

beforeAll(async () => {
  [server, pg] = await Promise.all([startDevServer(), startPostgres()]);
  sim = await startSimulator({ accounts: [...ACCOUNTS, 'omega', 'sigma'], sizes: { tickets: 300, users: 300 }, rateLimits: 'off', recentWindowSeconds: 0, accessTokenTtlSeconds: 3, faults: { latencyMs: 20 } });
  env = await createDevServerEnv(server);
  dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-fleet-'));
  out = path.join(dir, 'out');
  const key = randomBytes(32);
  writeFileSync(path.join(dir, 'key'), key.toString('base64'), { mode: 0o600 });
  registry = openRegistry(pg.url, keyring([key]));
}, 120_000);
afterAll(async () => {
  await Promise.all([...workers].map((w) => w.kill('SIGKILL')));
  await registry?.close();
  await env?.teardown();
  await sim?.close();
  await Promise.all([server?.stop(), pg?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const registryEnv = () => ({ ZENDESK_REGISTRY_URL: pg.url, ZENDESK_REGISTRY_KEY_FILE: path.join(dir, 'key') });

function startWorker(): WorkerProcess {
  const worker = startWorkerProcess({ temporalAddress: server.address, taskQueue: TASK_QUEUE, env: { ...registryEnv(), ZENDESK_EXPORT_OUTPUT_ROOT: out }, captureOutput: true, logLevel: 'INFO' });
  workers.add(worker);
  void worker.exited.then(() => {
    workers.delete(worker);
    logs.push(worker.output());
  });
  return worker;
}

/** Waits until the simulator has served `n` more pages (the workers' progress), however long load makes it. */
async function pagesServed(n: number): Promise<void> {
  const target = sim.stats().requests + n;
  while (sim.stats().requests < target) await new Promise((r) => setTimeout(r, 20));
}

test('two workers, four accounts on rotating refresh tokens, two exports each, SIGKILLs: exact, no refused refresh, grants alive, no secret anywhere', async () => {
  for (const account of ACCOUNTS) {
    const connected = await connectWithCli(account, { ...registryEnv(), ZENDESK_BASE_URL: `${sim.url}/accounts/{account}` }, dir);
    expect(connected.code).toBe(0);
  }
  const fleet = [startWorker(), startWorker()];
  const client = new ExportClient({ client: env.client, taskQueue: TASK_QUEUE, startTimeoutMs: 60_000 });
  const handles = await Promise.all(
    ACCOUNTS.flatMap((account) =>
      RESOURCES.map((resource) =>
        client.start({ account, resource, mode: 'time', startTime: 0, perPage: 10, destination: out, rateLimit: { requests: 1000, seconds: 1 } }),
      ),
    ),
  );
  const results = Promise.all(handles.map((h) => h.result()));

  // Kills at moments picked at random (seeded, so a failure can be replayed): after 20 to 80 more pages.
  const random = seededRandom(21);
  for (let kill = 0; kill < KILLS; kill++) {
    await pagesServed(20 + Math.floor(random() * 60));
    const victim = fleet.splice(Math.floor(random() * fleet.length), 1)[0]!;
    await victim.kill('SIGKILL');
    fleet.push(startWorker());
  }

  for (const result of await results) expect(result.outcome).toBe('completed');
  for (const account of ACCOUNTS) {
    for (const resource of RESOURCES) {
      const { versionField } = RESOURCE_SPECS[resource];
      const written = readRecords(path.join(out, account), resource);
      expect(duplicates(versionKeys(written, versionField))).toEqual([]);
      const newest = newestById(written, versionField);
      const expected = sim.expected(account, resource, { supportTypeScope: 'all' });
      expect([...newest.keys()].sort()).toEqual(expected.map((r) => String(r.id)).sort());
    }
  }
  const stats = sim.stats();
  expect(stats.refreshesRefused).toBe(0);
  expect(stats.tokensRefreshed).toBeGreaterThanOrEqual(ACCOUNTS.length); // The tokens did rotate while the exports ran.

  // Every grant is alive: a refresh of each works, and none is marked as needing re-authorization.
  for (const row of await registry.list()) {
    expect(row.status).toBe('active');
    const auth = registryAuthProvider(registry, row, accountUrl(row.account, row.baseUrl));
    await auth.authorization();
    await expect(auth.renew()).resolves.toBe(true);
  }

  // An export of an account the registry lacks is refused, with one sentence.
  const stranger = await client.start({ account: 'stranger', resource: 'tickets', mode: 'time', startTime: 0, destination: out });
  const refused = await stranger.result().catch((err: unknown) => err);
  expect(causes(refused)).toMatch(/Account "stranger" is not in the account registry/);

  // No secret anywhere but sealed: histories, worker logs, plain columns.
  const secrets = ['sim-refresh-', 'sim-access-', 'sim-code-', DEFAULT_OAUTH.clientSecret];
  const histories: string[] = [];
  for await (const w of env.client.workflow.list()) histories.push(JSON.stringify(await env.client.workflow.getHandle(w.workflowId, w.runId).fetchHistory()));
  await Promise.all([...workers].map((w) => w.kill('SIGTERM')));
  const rows = JSON.stringify(await registry.list());
  for (const text of [...histories, ...logs, rows]) for (const secret of secrets) expect(text).not.toContain(secret);
  expect(histories.length).toBeGreaterThan(ACCOUNTS.length * RESOURCES.length);
}, 600_000);

test('an account removed, and one whose grant is revoked in Zendesk, while their exports run: only they fail, each with its sentence', async () => {
  for (const account of ['omega', 'sigma']) {
    expect((await connectWithCli(account, { ...registryEnv(), ZENDESK_BASE_URL: `${sim.url}/accounts/{account}` }, dir)).code).toBe(0);
  }
  startWorker();
  const client = new ExportClient({ client: env.client, taskQueue: TASK_QUEUE, startTimeoutMs: 60_000 });
  // Slow exports (5 pages a second), so they are still running when their account goes.
  const slow = (account: string, resource: Resource) => client.start({ account, resource, mode: 'time', startTime: 0, perPage: 5, destination: out, rateLimit: { requests: 5, seconds: 1 } });
  const [removed, revoked, other] = await Promise.all([slow('omega', 'tickets'), slow('sigma', 'tickets'), slow('acme', 'users')]);
  await pagesServed(6);
  await registry.remove('omega');
  expect(sim.revokeGrant((await registry.grant('sigma'))!.access!.token)).toBe(true);
  expect(causes(await removed.result().catch((e: unknown) => e))).toMatch(/Account "omega" is not in the account registry/);
  expect(causes(await revoked.result().catch((e: unknown) => e))).toMatch(/Account "sigma" needs re-authorization: .* run `zendesk-export accounts connect sigma`/);
  expect((await registry.list()).find((r) => r.account === 'sigma')?.status).toBe('needs-reauthorization');
  // The other account's export goes on to its end.
  expect((await other.result()).outcome).toBe('completed');
  await Promise.all([...workers].map((w) => w.kill('SIGTERM')));
}, 300_000);

/** The messages of an error and its causes, one after the other. */
function causes(err: unknown): string {
  const messages: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) messages.push(String(e.message));
  return messages.join(' <- ');
}
