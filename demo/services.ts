/**
 * What the demo runs beside its exports, built by the one stack builder (devserver/stack.ts): Temporal
 * (its own dev server on `.temporal/dev.sqlite`, or TEMPORAL_ADDRESS's), the simulated account unless a
 * real one is exported, and a worker in this process serving that account only and writing only under
 * the demo's export folder. `close()` stops them in reverse order, whatever happened in between.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../client/errors';
import { preferredPort } from '../devserver/ports';
import { startStack, type Stack } from '../devserver/stack';
import { seededRandom } from '../simulator';
import { DEFAULT_TASK_QUEUE } from '../workflows/ids';
import type { DemoPaths } from './options';
import { DEMO_BUDGET, demoData, demoSimulatorOptions, forgetDemoData } from './simulator';

/** In follow mode the simulated account changes a ticket this often, so following has something to find. */
const CHANGE_EVERY_MS = 5_000;

/** `--fresh`, before Temporal starts: the simulated data and, with its own dev server, the demo's Temporal database go. */
export function forgetLocalState(paths: DemoPaths, ownServer: boolean): void {
  forgetDemoData(paths.temporalDir);
  if (!ownServer || !existsSync(paths.temporalDir)) return;
  const database = path.basename(paths.database);
  for (const file of readdirSync(paths.temporalDir).filter((name) => name.startsWith(database))) rmSync(path.join(paths.temporalDir, file), { force: true });
  rmSync(path.join(paths.temporalDir, GENERATION_FILE), { force: true });
}

/**
 * The generation of workflow code the demo's saved Temporal state was made by. Exports started by an
 * earlier generation cannot be carried on by this code (their histories do not replay), so the demo
 * says so instead of starting them. Raised with any change of workflow code that is not patched.
 */
const STATE_GENERATION = 2;
const GENERATION_FILE = 'demo-generation';

/** Refuses a saved dev-server database made by an earlier generation of the workflows; marks a new one. */
export function checkSavedState(paths: DemoPaths): void {
  const mark = path.join(paths.temporalDir, GENERATION_FILE);
  const saved = existsSync(mark) ? Number(readFileSync(mark, 'utf8').trim()) : existsSync(paths.database) ? 1 : STATE_GENERATION;
  if (saved !== STATE_GENERATION) {
    throw new UserError(`The demo's saved exports in ${paths.temporalDir} were made by an earlier version whose workflows this one cannot carry on: npm start -- --fresh starts over.`);
  }
  mkdirSync(paths.temporalDir, { recursive: true });
  writeFileSync(mark, `${STATE_GENERATION}\n`);
}

export interface DemoStack extends Stack {
  /** The Web UI's page of workflows, when the demo runs its own server. */
  uiUrl?: string;
  /** Where the simulated account is and its rate limit, unless a real account is exported. */
  simulatorUrl?: string;
}

/** Temporal and, unless `real`, the simulated account serving the data saved for this demo folder. */
export async function startDemoStack(paths: DemoPaths, how: { port: number; uiPort: number; account: string; real: boolean; follow: boolean }): Promise<DemoStack> {
  const external = process.env.TEMPORAL_ADDRESS;
  if (!external) checkSavedState(paths);
  const stack = await startStack({
    temporal: external ? { address: external } : { devServer: { dbFilename: paths.database, port: await preferredPort(how.port), ui: await preferredPort(how.uiPort) } },
    simulator: how.real ? false : demoSimulatorOptions(demoData(paths.temporalDir)),
    accounts: [how.account],
    // The demo's exports outlive it: a later start carries them on from the same task queue.
    taskQueue: DEFAULT_TASK_QUEUE,
    outputRoot: paths.outputRoot,
    inheritEnv: true,
  });
  const { sim, server } = stack;
  if (sim && how.follow) {
    const random = seededRandom(Date.now());
    const tickets = sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }).length;
    const changes = setInterval(() => sim.updateRecord(undefined, 'tickets', 1 + Math.floor(random() * tickets)), CHANGE_EVERY_MS);
    stack.teardown.add(async () => clearInterval(changes));
  }
  return Object.assign(stack, {
    uiUrl: server?.uiUrl && `${server.uiUrl}/namespaces/default/workflows`,
    simulatorUrl: sim && `${sim.url} (${DEMO_BUDGET.requests} requests per ${DEMO_BUDGET.seconds}s)`,
  });
}
