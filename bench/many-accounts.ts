/**
 * Many accounts: 1, 10 and 100 simulated accounts, each limited to its own budget, exporting tickets at
 * once on one worker process (and, for the largest count, on two). Prints accepted requests/s against
 * the sum of the budgets, and the CPU of the worker(s), the Temporal server and this process (the
 * simulator and the client), all on the same two cores.
 */
import { processCpuSeconds, startWorkerProcess, type WorkerProcess } from '../devserver/worker-process';
import { budgetUse, median, print, startBench } from './harness';
import { simulatorWorkerEnv } from '../simulator';

const BUDGET = { requests: 30, seconds: 10 };
const COUNTS = (process.env.BENCH_ACCOUNTS ?? '1,10,100').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MEASURED_WINDOWS = 6;
const TASK_QUEUE = 'bench-accounts';

interface Figures {
  use: number;
  perSecond: number;
  workerCpu: number;
  serverCpu: number;
  benchCpu: number;
  throttled: number;
}

async function run(accounts: number, workers: number): Promise<Figures> {
  const bench = await startBench(
    { accounts: 1, sizes: { tickets: 8_000, users: 1, organizations: 1, ticket_events: 1 }, rateLimits: { 'incremental-exports': BUDGET } },
    { taskQueue: TASK_QUEUE, inProcessWorker: false },
  );
  const procs: WorkerProcess[] = Array.from({ length: workers }, () =>
    startWorkerProcess({ temporalAddress: bench.server.address, taskQueue: TASK_QUEUE, env: simulatorWorkerEnv(bench.sim, { perAccount: true }), logLevel: 'ERROR' }),
  );
  try {
    const names = Array.from({ length: accounts }, (_, i) => `acct${i + 1}`);
    const handles = await bench.client.startMany(
      names.map((account) => ({ account, resource: 'tickets' as const, mode: 'time' as const, startTime: 0, perPage: 20, destination: bench.out, rateLimit: BUDGET })),
    );
    const accepted = () => bench.sim.stats().acceptedAt;
    const timesOf = (all: ReturnType<typeof accepted>, account: string) => all[`${account}:incremental-exports`] ?? [];
    // Warm-up: every account under way, then one more window for the pacing to settle.
    for (let all = accepted(); names.some((a) => !timesOf(all, a).length); all = accepted()) await new Promise((r) => setTimeout(r, 500));
    await new Promise((r) => setTimeout(r, BUDGET.seconds * 1000));

    const cpu = () => ({
      worker: procs.reduce((s, p) => s + p.cpuSeconds(), 0),
      server: processCpuSeconds(bench.server.pid!),
      bench: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
    });
    const [before, t0] = [cpu(), Date.now()];
    await new Promise((r) => setTimeout(r, MEASURED_WINDOWS * BUDGET.seconds * 1000));
    const [after, t1] = [cpu(), Date.now()];
    const seconds = (t1 - t0) / 1000;

    // Each account's use of its own budget, then the sum over accounts.
    const all = accepted();
    const uses = names.map((a) => budgetUse(timesOf(all, a), BUDGET, t0, t1));
    const use = uses.reduce((s, u) => s + u, 0) / uses.length;
    const perSecond = (use * accounts * BUDGET.requests) / BUDGET.seconds;
    const figures: Figures = {
      perSecond,
      use,
      workerCpu: (after.worker - before.worker) / seconds,
      serverCpu: (after.server - before.server) / seconds,
      benchCpu: (after.bench - before.bench) / seconds,
      throttled: bench.sim.stats().statuses[429] ?? 0,
    };
    print(
      `  ${accounts} accounts, ${workers} worker(s): ${perSecond.toFixed(1)} requests/s of ${((accounts * BUDGET.requests) / BUDGET.seconds).toFixed(0)} budgeted = ${figures.use.toFixed(3)}; ` +
        `CPU (cores): worker ${figures.workerCpu.toFixed(2)}, Temporal server ${figures.serverCpu.toFixed(2)}, simulator+client ${figures.benchCpu.toFixed(2)}; 429s ${figures.throttled}`,
    );
    await Promise.all(handles.map((h) => h.cancel().catch(() => undefined)));
    return figures;
  } finally {
    await Promise.all(procs.map((p) => p.kill()));
    await bench.close();
  }
}

export async function manyAccounts(): Promise<void> {
  const largest = Math.max(...COUNTS);
  const cases = [...COUNTS.map((accounts) => ({ accounts, workers: 1 })), { accounts: largest, workers: 2 }];
  for (const { accounts, workers } of cases) {
    const runs: Figures[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await run(accounts, workers));
    const m = (key: keyof Figures) => median(runs.map((r) => r[key]));
    print(
      `many-accounts: ${accounts} accounts x ${BUDGET.requests}/${BUDGET.seconds}s, ${workers} worker(s): median use ${m('use').toFixed(3)} ` +
        `(${m('perSecond').toFixed(1)} requests/s), worker CPU ${m('workerCpu').toFixed(2)} cores, server CPU ${m('serverCpu').toFixed(2)} cores (${RUNS} runs)`,
    );
  }
}
