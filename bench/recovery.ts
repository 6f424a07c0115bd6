/**
 * Recovery cost: the worker process killed with SIGKILL at a random point, 20 times during one long
 * export, and started again at once; then deploys: SIGTERM to the worker and a new one started at the
 * same moment, 10 times. Prints the pages fetched again per kill or deploy (requests the simulator
 * answered beyond the pages the export needed), the seconds from each restart to the next request,
 * the sending lost to each deploy (the longest pause in requests around it, less the usual pause),
 * and whether the copy is complete: exactly the simulator's record versions (id@version), each once.
 * Every wait has a deadline; a run that misses one fails the benchmark with a sentence.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startWorkerProcess, type WorkerProcess } from '../devserver/worker-process';
import { RESOURCE_SPECS } from '../zendesk/endpoints';
import { median, print, startBench } from './harness';

const KILLS = Number(process.env.BENCH_KILLS ?? 20);
const DEPLOYS = Number(process.env.BENCH_DEPLOYS ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TASK_QUEUE = 'bench-recovery';
const ACCOUNT = 'recovery';
const TICKETS = 40_000;
const DEPLOY_TICKETS = 150_000;
/** A restarted worker fetches within seconds; a minute means it is not coming back. */
const RESTART_DEADLINE_MS = 60_000;
/** 40,000 tickets in pages of 20 at an unlimited budget take a few minutes, kills included. */
const EXPORT_DEADLINE_MS = 20 * 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `done` until it holds; past the deadline, fails the benchmark saying what did not happen. */
async function within(ms: number, done: () => boolean, failure: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`recovery: ${failure} within ${ms / 1000}s.`);
    await sleep(5);
  }
}

async function deadline<T>(work: Promise<T>, ms: number, failure: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`recovery: ${failure} within ${ms / 1000}s.`)), ms)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** `id@version` of every ticket line written: the same multiset as the simulator's means nothing lost, nothing twice. */
function writtenVersions(folder: string): string[] {
  const { versionField } = RESOURCE_SPECS.tickets;
  const keys: string[] = [];
  for (const name of readdirSync(folder).filter((n) => n.endsWith('.ndjson'))) {
    for (const line of readFileSync(path.join(folder, name), 'utf8').split('\n')) {
      if (!line) continue;
      const record = JSON.parse(line) as Record<string, unknown>;
      keys.push(`${String(record.id)}@${String(record[versionField])}`);
    }
  }
  return keys;
}

/** Versions the account has that were not written, and lines written beyond its versions (repeats, strangers). */
function compare(written: readonly string[], expected: readonly string[]): { missing: number; extra: number } {
  const left = new Map<string, number>();
  for (const k of written) left.set(k, (left.get(k) ?? 0) + 1);
  let missing = 0;
  for (const k of expected) {
    const n = left.get(k) ?? 0;
    if (n === 0) missing++;
    else left.set(k, n - 1);
  }
  let extra = 0;
  for (const n of left.values()) extra += n;
  return { missing, extra };
}

interface RunFigures {
  refetchedPerKill: number;
  restartSeconds: number[];
  /** Deploys only: seconds of sending lost to each. */
  lostSeconds: number[];
  pages: number;
  complete: boolean;
  difference: string;
}

async function run(kills: number, how: 'kill' | 'deploy' = 'kill'): Promise<RunFigures> {
  // Deploys take longer each (a graceful stop, then a second of watching): enough tickets to outlast them.
  const tickets = how === 'deploy' ? DEPLOY_TICKETS : TICKETS;
  const bench = await startBench(
    { sizes: { tickets, users: 1, organizations: 1, ticket_events: 1 }, rateLimits: 'off', faults: { latencyMs: 20 } },
    { taskQueue: TASK_QUEUE, inProcessWorker: false },
  );
  const spawnWorker = () => startWorkerProcess({ temporalAddress: bench.server.address, taskQueue: TASK_QUEUE, env: bench.workerEnv([ACCOUNT]), logLevel: 'ERROR' });
  const requests = () => bench.sim.stats().requestsByEndpoint.tickets_time ?? 0;
  let worker: WorkerProcess = spawnWorker();
  try {
    const handle = await bench.client.start({ account: ACCOUNT, resource: 'tickets', mode: 'time', startTime: 0, perPage: 20, destination: bench.out, rateLimit: { requests: 1000, seconds: 1 } });
    const restartSeconds: number[] = [];
    const lostSeconds: number[] = [];
    const accepted = () => bench.sim.stats().acceptedAt['default:incremental-exports'] ?? [];
    for (let kill = 0; kill < kills; kill++) {
      // A random point: 0.5 to 3 s into this worker's work, mid-page or between pages.
      const seen = requests();
      await within(RESTART_DEADLINE_MS, () => requests() !== seen, `the worker fetched nothing before kill ${kill + 1}`);
      await sleep(500 + Math.random() * 2500);
      if (how === 'kill') {
        await worker.kill('SIGKILL');
        const before = requests();
        const restarted = Date.now();
        worker = spawnWorker();
        await within(RESTART_DEADLINE_MS, () => requests() !== before, `the worker restarted after kill ${kill + 1} fetched nothing`);
        restartSeconds.push((Date.now() - restarted) / 1000);
      } else {
        // A deploy: the old worker told to stop, the new one started at the same moment.
        const from = Date.now();
        const stopping = worker.kill('SIGTERM');
        worker = spawnWorker();
        await stopping;
        const stopped = Date.now();
        await within(RESTART_DEADLINE_MS, () => accepted().some((t) => t > stopped), `no request after deploy ${kill + 1}`);
        await sleep(1000);
        const times = accepted().filter((t) => t >= from - 1000);
        const gaps = times.slice(1).map((t, i) => t - times[i]!);
        lostSeconds.push((Math.max(...gaps) - median(gaps)) / 1000);
      }
    }
    const result = await deadline(handle.result(), EXPORT_DEADLINE_MS, `the export of ${tickets} tickets did not complete`);
    // Every page the export needed was requested once; anything beyond that was fetched again.
    const refetched = requests() - result.state.progress.pages;
    const { versionField } = RESOURCE_SPECS.tickets;
    const expected = bench.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }).map((t) => `${String(t.id)}@${String(t[versionField])}`);
    const { missing, extra } = compare(writtenVersions(path.join(bench.out, ACCOUNT, 'tickets')), expected);
    const complete = missing === 0 && extra === 0;
    return {
      refetchedPerKill: kills ? refetched / kills : refetched,
      restartSeconds,
      lostSeconds,
      pages: result.state.progress.pages,
      complete,
      difference: complete ? '' : ` (${missing} versions missing, ${extra} written more than once or not the account's)`,
    };
  } finally {
    await worker.kill();
    await bench.close();
  }
}

export async function recovery(): Promise<void> {
  const baseline = await run(0);
  print(`  no kills: ${baseline.pages} pages, ${baseline.refetchedPerKill} fetched beyond them (the baseline); complete: ${baseline.complete}${baseline.difference}`);
  const perKill: number[] = [];
  const restart: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await run(KILLS);
    print(
      `  run ${i + 1}: ${KILLS} kills, ${r.pages} pages, ${r.refetchedPerKill.toFixed(2)} pages fetched again per kill; ` +
        `restart to next request: median ${median(r.restartSeconds).toFixed(1)}s, max ${Math.max(...r.restartSeconds).toFixed(1)}s; ` +
        `complete (every id@version of the account once): ${r.complete}${r.difference}`,
    );
    perKill.push(r.refetchedPerKill);
    restart.push(...r.restartSeconds);
  }
  if (RUNS > 0) print(
    `recovery: median ${median(perKill).toFixed(2)} pages fetched again per kill over ${RUNS} runs of ${KILLS} SIGKILLs; ` +
      `restart to next request median ${median(restart).toFixed(1)}s, max ${Math.max(...restart).toFixed(1)}s`,
  );
  const deploys = await run(DEPLOYS, 'deploy');
  print(
    `recovery: ${DEPLOYS} deploys (SIGTERM, a new worker started at once): ${deploys.refetchedPerKill.toFixed(2)} pages fetched again per deploy; ` +
      `sending lost per deploy median ${median(deploys.lostSeconds).toFixed(2)}s, max ${Math.max(...deploys.lostSeconds).toFixed(2)}s; ` +
      `complete (every id@version of the account once): ${deploys.complete}${deploys.difference}`,
  );
}
