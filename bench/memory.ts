/**
 * Memory with size: peak RSS of a worker process exporting 10k, 100k and 1M tickets. The worker is
 * the real CLI in its own process (so the simulator and this script do not count), sampled every
 * 200 ms through /proc. Several runs per size; the medians are compared.
 */
import { startWorkerProcess } from '../devserver/worker-process';
import { median, print, startBench } from './harness';

const SIZES = (process.env.BENCH_MEMORY_SIZES ?? '10000,100000,1000000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

async function peakRssMiB(size: number): Promise<number> {
  const bench = await startBench({ sizes: { tickets: size, users: 10, organizations: 10, ticket_events: 10 }, rateLimits: 'off' }, { taskQueue: 'bench-memory', inProcessWorker: false });
  const worker = startWorkerProcess({
    temporalAddress: bench.server.address,
    taskQueue: 'bench-memory',
    env: bench.workerEnv([`memory${size}`]),
    logLevel: 'ERROR',
  });
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, worker.rssKb())), 200);
  try {
    const t = Date.now();
    const handle = await bench.client.start({ account: `memory${size}`, resource: 'tickets', startTime: 0, destination: bench.out, rateLimit: { requests: 1000, seconds: 1 } });
    const result = await handle.result();
    print(`  ${size} tickets: ${result.state.progress.records} records in ${((Date.now() - t) / 1000).toFixed(1)}s, worker peak RSS ${(peak / 1024).toFixed(0)} MiB`);
    return peak / 1024;
  } finally {
    clearInterval(sampler);
    await worker.kill();
    await bench.close();
  }
}

export async function memory(): Promise<void> {
  const medians: number[] = [];
  for (const size of SIZES) {
    const peaks: number[] = [];
    for (let run = 0; run < RUNS; run++) peaks.push(await peakRssMiB(size));
    medians.push(median(peaks));
  }
  print(
    `memory: median peak RSS ${medians.map((p) => `${p.toFixed(0)} MiB`).join(', ')} for ${SIZES.join(', ')} tickets (${RUNS} runs each); ` +
      `largest/smallest ${(medians[medians.length - 1]! / medians[0]!).toFixed(2)}`,
  );
}
