/**
 * Memory with size: peak RSS of a worker process exporting 10k, 100k and 1M tickets. The worker is
 * the real CLI in its own process (so the simulator and this script do not count), sampled every
 * 200 ms through /proc.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_API_TOKEN } from '../simulator';
import { print, startBench } from './harness';

const CLI = path.resolve(__dirname, '../../bin/zendesk-export.js');
const SIZES = (process.env.BENCH_MEMORY_SIZES ?? '10000,100000,1000000').split(',').map(Number);

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

export async function memory(): Promise<void> {
  const peaks: number[] = [];
  for (const size of SIZES) {
    const bench = await startBench({ sizes: { tickets: size, users: 10, organizations: 10, ticket_events: 10 }, rateLimits: 'off' });
    // The in-process worker of the harness stays idle: the measured worker polls its own task queue.
    const worker = spawn(process.execPath, [CLI, 'worker', '--log-level', 'ERROR'], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: bench.server.address,
        ZENDESK_EXPORT_TASK_QUEUE: 'bench-memory',
        ZENDESK_BASE_URL: bench.sim.url,
        ZENDESK_EMAIL: DEFAULT_API_TOKEN.email,
        ZENDESK_API_TOKEN: DEFAULT_API_TOKEN.token,
      },
      stdio: 'ignore',
    });
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKb(worker.pid!))), 200);
    try {
      const { ExportClient } = await import('../client/export-client');
      const client = new ExportClient({ client: bench.client.client, taskQueue: 'bench-memory', startTimeoutMs: 60_000 });
      const t = Date.now();
      const handle = await client.start({ account: `memory${size}`, resource: 'tickets', startTime: 0, destination: bench.out, rateLimit: { requests: 1_000_000, seconds: 1 } });
      const result = await handle.result();
      print(`  ${size} tickets: ${result.state.records} records in ${((Date.now() - t) / 1000).toFixed(1)}s, worker peak RSS ${(peak / 1024).toFixed(0)} MiB`);
      peaks.push(peak);
    } finally {
      clearInterval(sampler);
      worker.kill('SIGTERM');
      await bench.close();
    }
  }
  print(`memory: peak RSS ${peaks.map((p) => `${(p / 1024).toFixed(0)} MiB`).join(', ')} for ${SIZES.join(', ')} tickets; largest/smallest ${(peaks[peaks.length - 1]! / peaks[0]!).toFixed(2)}`);
}
