/**
 * Recovery cost: the worker process killed with SIGKILL at a random point, 20 times during one long
 * export, and started again at once. Prints the pages fetched again per kill (requests the simulator
 * answered beyond the pages the export needed) and the seconds from each restart to the next request.
 */
import { startWorkerProcess, type WorkerProcess } from '../devserver/worker-process';
import { median, print, startBench } from './harness';
import { simulatorWorkerEnv } from '../simulator';

const KILLS = Number(process.env.BENCH_KILLS ?? 20);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TASK_QUEUE = 'bench-recovery';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(kills: number): Promise<{ refetchedPerKill: number; restartSeconds: number[]; pages: number; complete: boolean }> {
  const bench = await startBench(
    { sizes: { tickets: 40_000, users: 1, organizations: 1, ticket_events: 1 }, rateLimits: 'off', faults: { latencyMs: 20 } },
    { taskQueue: TASK_QUEUE, inProcessWorker: false },
  );
  const spawnWorker = () => startWorkerProcess({ temporalAddress: bench.server.address, taskQueue: TASK_QUEUE, env: simulatorWorkerEnv(bench.sim), logLevel: 'ERROR' });
  const requests = () => bench.sim.stats().requestsByEndpoint.tickets_time ?? 0;
  let worker: WorkerProcess = spawnWorker();
  try {
    const handle = await bench.client.start({ account: 'recovery', resource: 'tickets', mode: 'time', startTime: 0, perPage: 20, destination: bench.out, rateLimit: { requests: 1_000_000, seconds: 1 } });
    const restartSeconds: number[] = [];
    for (let kill = 0; kill < kills; kill++) {
      // A random point: 0.5 to 3 s into this worker's work, mid-page or between pages.
      const seen = requests();
      while (requests() === seen) await sleep(5);
      await sleep(500 + Math.random() * 2500);
      await worker.kill('SIGKILL');
      const before = requests();
      const restarted = Date.now();
      worker = spawnWorker();
      while (requests() === before) await sleep(5);
      restartSeconds.push((Date.now() - restarted) / 1000);
    }
    const result = await handle.result();
    // Every page the export needed was requested once; anything beyond that was fetched again.
    const refetched = requests() - result.state.progress.pages;
    const expected = bench.sim.expected(undefined, 'tickets', { supportTypeScope: 'all' }).length;
    return { refetchedPerKill: kills ? refetched / kills : refetched, restartSeconds, pages: result.state.progress.pages, complete: result.state.progress.records >= expected };
  } finally {
    await worker.kill();
    await bench.close();
  }
}

export async function recovery(): Promise<void> {
  const baseline = await run(0);
  print(`  no kills: ${baseline.pages} pages, ${baseline.refetchedPerKill} fetched beyond them (the baseline)`);
  const perKill: number[] = [];
  const restart: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await run(KILLS);
    print(
      `  run ${i + 1}: ${KILLS} kills, ${r.pages} pages, ${r.refetchedPerKill.toFixed(2)} pages fetched again per kill; ` +
        `restart to next request: median ${median(r.restartSeconds).toFixed(1)}s, max ${Math.max(...r.restartSeconds).toFixed(1)}s; complete: ${r.complete}`,
    );
    perKill.push(r.refetchedPerKill);
    restart.push(...r.restartSeconds);
  }
  print(
    `recovery: median ${median(perKill).toFixed(2)} pages fetched again per kill over ${RUNS} runs of ${KILLS} SIGKILLs; ` +
      `restart to next request median ${median(restart).toFixed(1)}s, max ${Math.max(...restart).toFixed(1)}s`,
  );
}
