/**
 * Many accounts on one machine: 1,000 simulated accounts (BENCH_ACCOUNTS), each exporting tickets at
 * Zendesk's default budget of 10 requests a minute, on one worker process and the dev server. Small
 * pages (20 records), so orchestration rather than JSON is measured. Prints how long the accounts took
 * to get under way, with the requests made and the cores each process used meanwhile; the share of the
 * summed budgets used, 429s, and the CPU per page of the worker, the Temporal server, and this process
 * (simulator and client); then, from a run at 1,000-record pages, how many accounts one worker core
 * carries.
 */
import { processCpuSeconds } from '../devserver/process';
import { startWorkerProcess, type WorkerProcess } from '../devserver/worker-process';
import { freePort } from '../devserver';
import { awaitUnderWay, budgetUse, percentile, print, startBench } from './harness';
import { describeSlots, sampleWorkerMetrics } from './worker-metrics';

/**
 * Zendesk's default budget. BENCH_REQUESTS_PER_MINUTE=1 makes each account's first round a single
 * request, so what getting under way costs is measured nearly without pages beside it.
 */
const BUDGET = { requests: Number(process.env.BENCH_REQUESTS_PER_MINUTE ?? 10), seconds: 60 };
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 1000);
const MEASURED_WINDOWS = Number(process.env.BENCH_WINDOWS ?? 3);
const TASK_QUEUE = 'bench-accounts';
/** Another build's `bin/zendesk-export.js`, to run its worker in the same setting (side by side). */
const WORKER_CLI = process.env.BENCH_WORKER_CLI || undefined;
/**
 * The worker's workflow cache: each account here runs two workflows (its coordinator and its tickets
 * export), and the rest is headroom. BENCH_CACHED_WORKFLOWS=0 leaves the SDK's default (about 2,300
 * with a 4 GiB heap), as a worker started without --cached-workflows has.
 */
const cachedWorkflows = (accounts: number) => Number(process.env.BENCH_CACHED_WORKFLOWS ?? 2 * accounts + 100);

interface Figures {
  use: number;
  requestsPerSecond: number;
  workerCpuPerPage: number;
  serverCpuPerPage: number;
  benchCpuPerPage: number;
  workerCores: number;
  serverCores: number;
  throttled: number;
  slowest: number;
  peakRssMiB: number;
}

async function run(accounts: number, perPage: number, windows: number): Promise<Figures> {
  const names = Array.from({ length: accounts }, (_, i) => `acct${i + 1}`);
  // Enough tickets that no account runs out before the last measured window, though it got under way
  // first and the last account only after the 15 minutes allowed (an export that ends makes no more
  // requests, and would count as an account starved).
  const tickets = Math.max(1_000, perPage * BUDGET.requests * (windows + 3 + 15));
  const bench = await startBench(
    { accounts: 1, sizes: { tickets, users: 1, organizations: 1, ticket_events: 1 }, rateLimits: { 'incremental-exports': BUDGET } },
    { taskQueue: TASK_QUEUE, inProcessWorker: false },
  );
  const metrics = `127.0.0.1:${await freePort()}`;
  const worker: WorkerProcess = startWorkerProcess({
    cliPath: WORKER_CLI,
    temporalAddress: bench.server.address,
    taskQueue: TASK_QUEUE,
    env: bench.workerEnv(names, { perAccount: true }),
    args: ['worker', '--log-level', 'ERROR', '--metrics', metrics, ...(cachedWorkflows(accounts) ? ['--cached-workflows', String(cachedWorkflows(accounts))] : [])],
  });
  let peakRssKb = 0;
  const rss = setInterval(() => (peakRssKb = Math.max(peakRssKb, worker.rssKb())), 1000);
  try {
    const served = () => bench.sim.stats().requests;
    const cpu = () => ({
      worker: worker.cpuSeconds(),
      server: processCpuSeconds(bench.server.pid!),
      bench: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
      requests: served(),
    });
    const started = Date.now();
    const startCpu = cpu();
    const startup = sampleWorkerMetrics(`http://${metrics}/metrics`);
    const handles = await bench.client.startMany(
      names.map((account) => ({ account, resource: 'tickets' as const, mode: 'time' as const, startTime: 0, perPage, destination: bench.out, rateLimit: BUDGET })),
    );
    const accepted = () => bench.sim.stats().acceptedAt;
    const timesOf = (all: ReturnType<typeof accepted>, account: string) => all[`${account}:incremental-exports`] ?? [];
    // Warm-up: every account under way, then one more window for the pacing to settle.
    // Past 15 minutes from the first start the run is measured as it stands, the accounts not yet under way counted in.
    const underWay = await awaitUnderWay(bench, names, started, 15 * 60_000);
    print(
      underWay.notYet
        ? `  NOT UNDER WAY: ${underWay.notYet} of ${accounts} accounts had made no request ${underWay.seconds}s after the first start`
        : `  ${accounts} accounts under way ${underWay.seconds}s after the first start`,
    );
    // The cores each process used while they got under way: whether start-up waits on CPU or on something else.
    const [startedCpu, startSeconds] = [cpu(), (Date.now() - started) / 1000];
    const cores = (of: 'worker' | 'server' | 'bench') => ((startedCpu[of] - startCpu[of]) / startSeconds).toFixed(2);
    print(
      `  while they got under way: ${startedCpu.requests - startCpu.requests} requests; worker ${cores('worker')} cores, server ${cores('server')}, ` +
        `simulator+client ${cores('bench')}; worker ${describeSlots(await startup.stop())}`,
    );
    await new Promise((r) => setTimeout(r, BUDGET.seconds * 1000));

    const [before, t0] = [cpu(), Date.now()];
    const sampler = sampleWorkerMetrics(`http://${metrics}/metrics`);
    await new Promise((r) => setTimeout(r, windows * BUDGET.seconds * 1000));
    const [after, t1] = [cpu(), Date.now()];
    print(`  worker ${describeSlots(await sampler.stop())}`);
    const seconds = (t1 - t0) / 1000;
    const pages = after.requests - before.requests;

    const all = accepted();
    const uses = names.map((a) => budgetUse(timesOf(all, a), BUDGET, t0, t1));
    const use = uses.reduce((s, u) => s + u, 0) / uses.length;
    const figures: Figures = {
      use,
      requestsPerSecond: pages / seconds,
      workerCpuPerPage: ((after.worker - before.worker) / pages) * 1000,
      serverCpuPerPage: ((after.server - before.server) / pages) * 1000,
      benchCpuPerPage: ((after.bench - before.bench) / pages) * 1000,
      workerCores: (after.worker - before.worker) / seconds,
      serverCores: (after.server - before.server) / seconds,
      throttled: bench.sim.stats().statuses[429] ?? 0,
      slowest: Math.min(...uses),
      peakRssMiB: Math.max(peakRssKb, worker.rssKb()) / 1024,
    };
    print(
      `  ${accounts} accounts x ${BUDGET.requests}/${BUDGET.seconds}s, ${perPage} records a page, over ${windows} windows: ` +
        `${figures.requestsPerSecond.toFixed(1)} requests/s of ${((accounts * BUDGET.requests) / BUDGET.seconds).toFixed(1)} budgeted; ` +
        `use ${use.toFixed(3)} (least-served account ${figures.slowest.toFixed(3)}, tenth-least ${percentile(uses, 0.1).toFixed(3)}, ` +
        `${uses.filter((u) => u < 0.8 * use).length} accounts below 0.8 of the mean, ${uses.filter((u) => u === 0).length} with no request); 429s ${figures.throttled}; ` +
        `CPU per page: worker ${figures.workerCpuPerPage.toFixed(2)} ms, Temporal server ${figures.serverCpuPerPage.toFixed(2)} ms, ` +
        `simulator+client ${figures.benchCpuPerPage.toFixed(2)} ms (worker ${figures.workerCores.toFixed(2)} cores, server ${figures.serverCores.toFixed(2)} cores); ` +
        `worker peak RSS ${figures.peakRssMiB.toFixed(0)} MiB with ${cachedWorkflows(accounts) || 'the default'} cached workflows`,
    );
    await Promise.all(handles.map((h) => h.cancel().catch(() => undefined)));
    return figures;
  } finally {
    clearInterval(rss);
    await worker.kill();
    await bench.close();
  }
}

export async function manyAccounts(): Promise<void> {
  const small = await run(ACCOUNTS, 20, MEASURED_WINDOWS);
  print(
    `many-accounts: ${ACCOUNTS} accounts at ${BUDGET.requests}/${BUDGET.seconds}s, 20-record pages: use ${small.use.toFixed(3)} of the summed budgets, ` +
      `${small.requestsPerSecond.toFixed(1)} requests/s, 429s ${small.throttled}, CPU per page worker ${small.workerCpuPerPage.toFixed(2)} ms / server ${small.serverCpuPerPage.toFixed(2)} ms`,
  );
  // Realistic pages: the worker's CPU per 1,000-record page says how many accounts one core carries.
  const bigAccounts = Number(process.env.BENCH_BIG_ACCOUNTS ?? 20);
  if (!bigAccounts) return; // BENCH_BIG_ACCOUNTS=0: the small pages only.
  const big = await run(bigAccounts, 1000, 2);
  const perCore = 1000 / (big.workerCpuPerPage * (BUDGET.requests / BUDGET.seconds));
  print(
    `many-accounts: 1000-record pages cost the worker ${big.workerCpuPerPage.toFixed(1)} ms of CPU each: one worker core carries about ` +
      `${Math.floor(perCore)} accounts at ${BUDGET.requests}/${BUDGET.seconds}s (${Math.floor(perCore * 1000 * (BUDGET.requests / BUDGET.seconds))} records/s)`,
  );
}
