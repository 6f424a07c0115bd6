/**
 * Worker start: seconds from spawning `zendesk-export worker` to its first poll, with the workflow
 * bundle `npm run build` made (dist/workflow-bundle.js) and without it (the worker then bundles the
 * workflows itself at every start). The bundle is set aside for the second half and put back after.
 */
import { existsSync, renameSync } from 'node:fs';
import { startWorkerProcess } from '../devserver/worker-process';
import { PREBUILT_BUNDLE_PATH } from '../worker/create-worker';
import { median, print, startBench } from './harness';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

async function startSeconds(address: string, env: Record<string, string>): Promise<number> {
  const started = Date.now();
  const worker = startWorkerProcess({ temporalAddress: address, taskQueue: 'bench-start', env, logLevel: 'INFO' });
  try {
    const deadline = started + 120_000;
    while (!/Worker polling/.test(worker.output())) {
      if (Date.now() > deadline) throw new Error(`The worker did not poll within 120 s:\n${worker.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return (Date.now() - started) / 1000;
  } finally {
    await worker.kill();
  }
}

export async function workerStart(): Promise<void> {
  if (!existsSync(PREBUILT_BUNDLE_PATH)) throw new Error('No prebuilt workflow bundle: run `npm run build` first.');
  const bench = await startBench({ sizes: { tickets: 1, users: 1, organizations: 1, ticket_events: 1 } }, { inProcessWorker: false });
  const aside = `${PREBUILT_BUNDLE_PATH}.aside`;
  try {
    const env = bench.workerEnv(['bench1']);
    const prebuilt: number[] = [];
    for (let i = 0; i < RUNS; i++) prebuilt.push(await startSeconds(bench.server.address, env));
    renameSync(PREBUILT_BUNDLE_PATH, aside);
    const bundling: number[] = [];
    try {
      for (let i = 0; i < RUNS; i++) bundling.push(await startSeconds(bench.server.address, env));
    } finally {
      renameSync(aside, PREBUILT_BUNDLE_PATH);
    }
    print(`  prebuilt bundle: ${prebuilt.map((s) => s.toFixed(2)).join(', ')} s; bundling at start: ${bundling.map((s) => s.toFixed(2)).join(', ')} s`);
    print(`worker-start: spawn to first poll, median of ${RUNS}: ${median(prebuilt).toFixed(2)} s with the prebuilt bundle, ${median(bundling).toFixed(2)} s bundling at start`);
  } finally {
    await bench.close();
  }
}
