/**
 * The fleet scenario, on the dev server (test/integration/fleet.test.ts) or the cluster
 * (test/cluster/fleet.test.ts): worker processes sharing one account registry, accounts connected with
 * `accounts connect` on refresh tokens that rotate while access tokens live seconds, exports of each
 * account at once, and workers killed with SIGKILL at moments picked at random (seeded, so a failure can
 * be replayed), some of them while Zendesk answers a refresh the worker asked for: the grant has rotated
 * and the new tokens are not yet stored (the simulator delays token answers so that this window is wide).
 * Checks: every export exact, no refresh token refused, every grant alive at the end, no secret in a
 * workflow history, a worker's log or the registry's plain columns, no refresher process left.
 */
import type { Client } from '@temporalio/client';
import { registryAuthProvider } from '../../accounts/registry-auth';
import type { AccountRegistry } from '../../accounts/registry';
import type { ExportClient } from '../../client/export-client';
import { DEFAULT_OAUTH, seededRandom, type Simulator } from '../../simulator';
import { accountUrl } from '../../zendesk/account';
import { RESOURCE_SPECS, type Resource } from '../../zendesk/endpoints';
import { connectWithCli } from './accounts';
import { refreshersEnded, runningRefreshers } from './refreshers';
import { duplicates, newestById, readRecords, versionKeys } from './output';
import path from 'node:path';

export interface FleetWorker {
  readonly pid: number;
  kill(signal?: NodeJS.Signals): Promise<void>;
  output(): string;
}

export interface Fleet {
  sim: Simulator;
  registry: AccountRegistry;
  client: ExportClient;
  temporal: Client;
  /** The workers' output root (exports write there), and the CLI's working folder. */
  root: string;
  /** The environment `accounts connect` needs: the registry, its key, PGPASSWORD. */
  adminEnv: Record<string, string>;
  startWorker(): Promise<FleetWorker>;
}

export interface FleetPlan {
  accounts: string[];
  resources: Resource[];
  workers: number;
  kills: number;
  /** Of the kills, how many wait for a refresh in flight and kill the worker that asked for it. */
  killsDuringRefresh: number;
  /** Pages served between kills: from `pagesBetweenKills[0]` to that plus `[1]`. */
  pagesBetweenKills: [number, number];
  seed: number;
}

/** The secrets the simulator issues, by their prefixes, and its client secret. */
export const SIMULATOR_SECRETS = ['sim-refresh-', 'sim-access-', 'sim-code-', DEFAULT_OAUTH.clientSecret];

/** Waits until the simulator has served `n` more requests (the workers' progress), however long load makes it. */
export async function pagesServed(sim: Simulator, n: number, stop: () => boolean = () => false): Promise<void> {
  const target = sim.stats().requests + n;
  while (sim.stats().requests < target && !stop()) await new Promise((r) => setTimeout(r, 20));
}

/** The messages of an error and its causes, one after the other. */
export function causes(err: unknown): string {
  const messages: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) messages.push(String(e.message));
  return messages.join(' <- ');
}

/**
 * Waits until a grant has just rotated at the simulator (its answer delayed) while a live worker's
 * refresher waits for that answer; returns that worker, or undefined once `stop()`.
 */
async function workerMidRefresh(sim: Simulator, live: FleetWorker[], stop: () => boolean): Promise<FleetWorker | undefined> {
  while (!stop()) {
    const rotated = sim.stats().tokensRefreshed;
    while (sim.stats().tokensRefreshed === rotated && !stop()) await new Promise((r) => setTimeout(r, 5));
    const parents = new Set(runningRefreshers().map((r) => r.ppid));
    const worker = live.find((w) => parents.has(w.pid));
    if (worker) return worker;
  }
  return undefined;
}

export async function connectAll(fleet: Fleet, accounts: string[]): Promise<void> {
  for (const account of accounts) {
    const connected = await connectWithCli(account, { ...fleet.adminEnv, ZENDESK_BASE_URL: `${fleet.sim.url}/accounts/{account}` }, fleet.root);
    expect(connected).toMatchObject({ code: 0, stderr: '' });
  }
}

export async function runFleetScenario(fleet: Fleet, plan: FleetPlan): Promise<{ kills: number; killsDuringRefresh: number; refreshes: number }> {
  const { sim } = fleet;
  await connectAll(fleet, plan.accounts);
  const logs: string[] = [];
  const live: FleetWorker[] = await Promise.all(Array.from({ length: plan.workers }, () => fleet.startWorker()));
  const all = [...live];
  sim.resetStats();
  const handles = await Promise.all(
    plan.accounts.flatMap((account) =>
      plan.resources.map((resource) =>
        fleet.client.start({ account, resource, mode: 'time', startTime: 0, perPage: 10, destination: fleet.root, rateLimit: { requests: 1000, seconds: 1 } }),
      ),
    ),
  );
  let settled = false;
  const results = Promise.allSettled(handles.map((h) => h.result())).finally(() => (settled = true));

  const random = seededRandom(plan.seed);
  let kills = 0;
  let killsDuringRefresh = 0;
  for (; kills < plan.kills; kills++) {
    await pagesServed(sim, plan.pagesBetweenKills[0] + Math.floor(random() * plan.pagesBetweenKills[1]), () => settled);
    // Kills during a refresh come first among the others (every other kill), so that they land.
    const midRefresh = killsDuringRefresh < plan.killsDuringRefresh && kills % 2 === 0 ? await workerMidRefresh(sim, live, () => settled) : undefined;
    if (settled) break; // Every export ended (or failed) before this kill: the checks below say which.
    const victim = live.splice(midRefresh ? live.indexOf(midRefresh) : Math.floor(random() * live.length), 1)[0]!;
    if (midRefresh) killsDuringRefresh++;
    await victim.kill('SIGKILL');
    const replacement = await fleet.startWorker();
    live.push(replacement);
    all.push(replacement);
  }

  for (const result of await results) {
    if (result.status === 'rejected') throw new Error(`An export failed: ${causes(result.reason)}`);
    expect(result.value.outcome).toBe('completed');
  }
  for (const account of plan.accounts) {
    for (const resource of plan.resources) {
      const { versionField } = RESOURCE_SPECS[resource];
      const written = readRecords(path.join(fleet.root, account), resource);
      expect(duplicates(versionKeys(written, versionField))).toEqual([]);
      const newest = newestById(written, versionField);
      expect([...newest.keys()].sort()).toEqual(sim.expected(account, resource, { supportTypeScope: 'all' }).map((r) => String(r.id)).sort());
    }
  }
  const stats = sim.stats();
  expect(stats.refreshesRefused).toBe(0);
  expect(stats.tokensRefreshed).toBeGreaterThanOrEqual(plan.accounts.length); // The tokens did rotate while the exports ran.

  // Every grant is alive: a refresh of each works, and none is marked as needing re-authorization.
  const rows = (await fleet.registry.list()).filter((r) => plan.accounts.includes(r.account));
  expect(rows.map((r) => r.account).sort()).toEqual([...plan.accounts].sort());
  for (const row of rows) {
    expect(row.status).toBe('active');
    const auth = registryAuthProvider(fleet.registry, row, accountUrl(row.account, row.baseUrl));
    await auth.authorization();
    await expect(auth.renew()).resolves.toBe(true);
  }

  // No secret anywhere but sealed: histories, worker logs, plain columns.
  const histories: string[] = [];
  for await (const w of fleet.temporal.workflow.list()) histories.push(JSON.stringify(await fleet.temporal.workflow.getHandle(w.workflowId, w.runId).fetchHistory()));
  expect(histories.length).toBeGreaterThan(plan.accounts.length * plan.resources.length);
  await Promise.all(live.map((w) => w.kill('SIGTERM')));
  await refreshersEnded(); // Each refresher, its worker killed or not, ended on its own.
  for (const w of all) logs.push(w.output());
  const columns = JSON.stringify(rows);
  for (const text of [...histories, ...logs, columns]) for (const secret of SIMULATOR_SECRETS) expect(text).not.toContain(secret);
  return { kills, killsDuringRefresh, refreshes: stats.tokensRefreshed };
}
