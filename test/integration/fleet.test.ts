/**
 * A small fleet on the dev server: two worker processes (the real CLI) sharing one account registry on a
 * real PostgreSQL, four accounts connected with `accounts connect`, each on a refresh token that rotates
 * at every refresh while access tokens live 3 seconds, two exports per account at once, and three
 * SIGKILLs at moments picked at random, two of them while Zendesk answers a refresh the killed worker
 * asked for (test/helpers/fleet.ts says what is checked). Then: an account the registry lacks is
 * refused, and an account removed, or revoked in Zendesk, while its export runs fails that export alone,
 * with its sentence; the revoked one shows as needing re-authorization in Temporal and the CLI. The full
 * version (3 workers, 20 accounts, 10 kills, 5 mid-refresh) is in the cluster suite.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { keyring } from '../../accounts/keys';
import { openRegistry, type AccountRegistry } from '../../accounts/registry';
import { ExportClient } from '../../client/export-client';
import { startWorkerProcess, type WorkerProcess } from '../../devserver/worker-process';
import { SIMULATOR_RATE_CEILING, startSimulator, type Simulator } from '../../simulator';
import type { Resource } from '../../zendesk/endpoints';
import { causes, connectAll, pagesServed, runFleetScenario, type Fleet } from '../helpers/fleet';
import { startPostgres, type PostgresServer } from '../helpers/postgres';
import { runCli } from '../helpers/cli';
import { searchAttributeKeys } from '../../workflows/search-attributes';
import { createDevServerEnv, startDevServer, type DevServer } from '../helpers/temporal';

const ACCOUNTS = ['acme', 'beta', 'gamma', 'delta'];
const TASK_QUEUE = 'fleet-test';

let server: DevServer;
let pg: PostgresServer;
let sim: Simulator;
let env: TestWorkflowEnvironment;
let registry: AccountRegistry;
let dir: string;
let fleet: Fleet;
const workers = new Set<WorkerProcess>();

beforeAll(async () => {
  [server, pg] = await Promise.all([startDevServer(), startPostgres()]);
  sim = await startSimulator({ accounts: [...ACCOUNTS, 'omega', 'sigma'], sizes: { tickets: 2000, users: 2000 }, rateLimits: 'off', recentWindowSeconds: 0, accessTokenTtlSeconds: 3, faults: { latencyMs: 20, tokenAnswerLatencyMs: 300 } });
  env = await createDevServerEnv(server);
  dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-fleet-'));
  const key = randomBytes(32);
  writeFileSync(path.join(dir, 'key'), key.toString('base64'), { mode: 0o600 });
  registry = openRegistry(pg.url, keyring([key]));
  const adminEnv = { ZENDESK_REGISTRY_URL: pg.url, ZENDESK_REGISTRY_KEY_FILE: path.join(dir, 'key') };
  fleet = {
    sim, registry, temporal: env.client, root: dir, adminEnv,
    client: new ExportClient({ client: env.client, taskQueue: TASK_QUEUE, startTimeoutMs: 60_000 }),
    startWorker: async () => {
      const worker = startWorkerProcess({ temporalAddress: server.address, taskQueue: TASK_QUEUE, env: { ...adminEnv, ZENDESK_EXPORT_OUTPUT_ROOT: dir, ZENDESK_RATE_CEILING: SIMULATOR_RATE_CEILING }, logLevel: 'INFO' });
      workers.add(worker);
      void worker.exited.then(() => workers.delete(worker));
      return worker;
    },
  };
}, 120_000);
afterAll(async () => {
  await Promise.all([...workers].map((w) => w.kill('SIGKILL')));
  await registry?.close();
  await env?.teardown();
  await sim?.close();
  await Promise.all([server?.stop(), pg?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

test('two workers, four accounts on rotating refresh tokens, two exports each, SIGKILLs (two mid-refresh): exact, no refused refresh, grants alive, no secret anywhere', async () => {
  const plan = { accounts: ACCOUNTS, resources: ['tickets', 'users'] as Resource[], workers: 2, kills: 3, killsDuringRefresh: 2, pagesBetweenKills: [10, 30] as [number, number], seed: 21 };
  const { kills, killsDuringRefresh } = await runFleetScenario(fleet, plan);
  expect(kills).toBe(3);
  expect(killsDuringRefresh).toBe(2);
}, 600_000);

test('an account the registry lacks is refused; one removed, and one revoked in Zendesk, while their exports run: only they fail, each with its sentence', async () => {
  await connectAll(fleet, ['omega', 'sigma']);
  await fleet.startWorker();
  // Slow exports (5 pages a second), so they are still running when their account goes.
  const slow = (account: string, resource: Resource) => fleet.client.start({ account, resource, mode: 'time', startTime: 0, perPage: 5, destination: dir, rateLimit: { requests: 5, seconds: 1 } });
  const [stranger, removed, revoked, other] = await Promise.all([slow('stranger', 'tickets'), slow('omega', 'tickets'), slow('sigma', 'tickets'), slow('acme', 'users')]);
  expect(causes(await stranger.result().catch((e: unknown) => e))).toMatch(/Account "stranger" is not in the account registry/);
  await pagesServed(sim, 6);
  await registry.remove('omega');
  // A worker may be refreshing sigma's grant at this moment: Zendesk has retired the tokens the registry
  // still holds, and their successors are on their way to it. Read it again until the revoke finds the grant.
  let revokedInZendesk = false;
  for (let tries = 0; !revokedInZendesk && tries < 50; tries++) {
    revokedInZendesk = sim.revokeGrant((await registry.grant('sigma'))!.access!.token);
    if (!revokedInZendesk) await new Promise((r) => setTimeout(r, 200));
  }
  expect(revokedInZendesk).toBe(true);
  expect(causes(await removed.result().catch((e: unknown) => e))).toMatch(/Account "omega" is not in the account registry/);
  expect(causes(await revoked.result().catch((e: unknown) => e))).toMatch(/Account "sigma" needs re-authorization: .* run `zendesk-export accounts connect sigma`/);
  expect((await registry.list()).find((r) => r.account === 'sigma')?.status).toBe('needs-reauthorization');
  // The export shows as needing re-authorization: in its recorded state, in the search attribute the
  // Temporal UI filters on, and in the CLI's `list` and `status`.
  expect((await revoked.describe()).state?.status).toBe('needs-reauthorization');
  const inTemporal = await env.client.workflow.getHandle(revoked.workflowId).describe();
  expect(inTemporal.typedSearchAttributes.get(searchAttributeKeys.status)).toBe('needs-reauthorization');
  const cliEnv = { TEMPORAL_ADDRESS: server.address, ZENDESK_EXPORT_TASK_QUEUE: TASK_QUEUE };
  expect((await runCli(['list', '--account', 'sigma'], cliEnv, { cwd: dir })).stdout).toMatch(/zendesk-export\/sigma\/tickets\S* +FAILED .* needs re-authorization \(zendesk-export accounts connect\)/);
  const status = await runCli(['status', 'tickets', '--account', 'sigma', '--mode', 'time'], cliEnv, { cwd: dir });
  expect(status.code).toBe(1);
  expect(status.stdout).toMatch(/Needs re-authorization \(after .*\): an admin runs `zendesk-export accounts connect sigma`, then zendesk-export resume/);
  // The other account's export goes on to its end.
  expect((await other.result()).outcome).toBe('completed');
}, 300_000);
