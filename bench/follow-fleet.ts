/**
 * Follow mode at many accounts: BENCH_FOLLOW_ACCOUNTS accounts (default 10,000), each caught up and
 * polling its tickets every BENCH_FOLLOW_SECONDS (default 300), each poll finding 0 to 5 new records,
 * on one worker process (the real CLI) and the dev server. Prints the lateness of polls (a poll's gap
 * after the previous one, less the interval: an upper bound, as the interval starts when the workflow
 * has the previous poll's result), CPU per poll of the worker and the server, history events and bytes
 * per poll (from a sample of the exports' histories: one follow cycle each, its timer to the workflow
 * task that takes its batch in, over the polls that batch made) and the history storage per
 * account-month that follows, and the worker's RSS. BENCH_WORKER_CLI runs another build's worker
 * (its `bin/zendesk-export.js`) for a side-by-side run.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { processCpuSeconds } from '../devserver/process';
import { startWorkerProcess } from '../devserver/worker-process';
import { seededRandom } from '../simulator/random';
import { awaitUnderWay, median, percentile, print, startBench } from './harness';

const ACCOUNTS = Number(process.env.BENCH_FOLLOW_ACCOUNTS ?? 10_000);
const INTERVAL_S = Number(process.env.BENCH_FOLLOW_SECONDS ?? 300);
const MEASURED_INTERVALS = Number(process.env.BENCH_FOLLOW_INTERVALS ?? 3);
const HISTORY_SAMPLE = 20;
const TASK_QUEUE = 'bench-follow';
/** Every account's coordinator and export stay cached (BENCH_CACHED_WORKFLOWS=0: the SDK's default). */
const CACHED_WORKFLOWS = Number(process.env.BENCH_CACHED_WORKFLOWS ?? 2 * ACCOUNTS + 100);
/** The worker's heap: the workflows' state lives in it, and Node's default (about 4 GiB) fills at roughly 13,000 cached workflows. */
const WORKER_HEAP_MIB = Number(process.env.BENCH_WORKER_HEAP_MIB ?? Math.max(4096, Math.ceil(CACHED_WORKFLOWS / 2)));
/** How long the accounts may take to get under way before the run is measured as it stands. */
const STARTUP_MINUTES = Number(process.env.BENCH_FOLLOW_STARTUP_MINUTES ?? 60);
const WORKER_CLI = process.env.BENCH_WORKER_CLI || undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function followFleet(): Promise<void> {
  const names = Array.from({ length: ACCOUNTS }, (_, i) => `follow${i + 1}`);
  const bench = await startBench({ accounts: names, sizes: { tickets: 1, users: 1, organizations: 1, ticket_events: 1 }, rateLimits: 'off' }, { taskQueue: TASK_QUEUE, inProcessWorker: false });
  const worker = startWorkerProcess({
    temporalAddress: bench.server.address,
    taskQueue: TASK_QUEUE,
    env: { ...bench.workerEnv(names, { perAccount: true }), NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${WORKER_HEAP_MIB}`.trim() },
    args: ['worker', '--log-level', 'ERROR', ...(CACHED_WORKFLOWS ? ['--cached-workflows', String(CACHED_WORKFLOWS)] : [])],
    cliPath: WORKER_CLI,
  });
  const random = seededRandom(24);
  try {
    const started = Date.now();
    // Caught up from the start: nothing newer than two minutes ago but the odd record.
    const startTime = Math.floor(Date.now() / 1000) - 120;
    const handles = await bench.client.startMany(
      names.map((account) => ({ account, resource: 'tickets' as const, startTime, destination: bench.out, followIntervalSeconds: INTERVAL_S, rateLimit: { requests: 10, seconds: 60 } })),
    );
    const rss = () => `; worker RSS ${(worker.rssKb() / 1024).toFixed(0)} MiB`;
    const { notYet, seconds } = await awaitUnderWay(bench, names, started, STARTUP_MINUTES * 60_000, rss);
    const startup = `${seconds}s after the first start${rss()}`;
    print(
      notYet
        ? `  NOT UNDER WAY: ${notYet} of ${ACCOUNTS} accounts had made no request ${startup}`
        : `  ${ACCOUNTS} accounts following, every ${INTERVAL_S}s, under way ${startup}`,
    );
    await sleep(INTERVAL_S * 1000); // Every account's polls settle into their interval.

    const cpu = () => ({ worker: worker.cpuSeconds(), server: processCpuSeconds(bench.server.pid!), requests: bench.sim.stats().requests });
    const [before, t0] = [cpu(), Date.now()];
    let peakRssKb = 0;
    for (let i = 0; i < MEASURED_INTERVALS; i++) {
      // Each account gets 0 to 5 new tickets an interval, spread over it.
      const due = names.map((a) => ({ a, at: Date.now() + random() * INTERVAL_S * 1000, n: Math.floor(random() * 6) })).sort((x, y) => x.at - y.at);
      for (const { a, at, n } of due) {
        if (at > Date.now()) await sleep(at - Date.now());
        if (n) bench.sim.addRecords(a, 'tickets', n);
        peakRssKb = Math.max(peakRssKb, worker.rssKb());
      }
    }
    const [after, t1] = [cpu(), Date.now()];
    const polls = after.requests - before.requests;

    const all = bench.sim.stats().acceptedAt;
    const lateness = names
      .flatMap((a) => {
        const times = (all[`${a}:incremental-exports`] ?? []).filter((t) => t >= t0 && t < t1);
        return times.slice(1).map((t, i) => (t - times[i]! - INTERVAL_S * 1000) / 1000);
      })
      .sort((x, y) => x - y);
    // A sample paused, so that each has a follow batch that has ended: its cycle's history is whole.
    const sample = handles.slice(0, HISTORY_SAMPLE);
    await Promise.all(sample.map((h) => h.pause()));
    const history = await historyPerPoll(bench.client.client, sample.map((h) => h.workflowId), (INTERVAL_S + 90) * 1000);
    const pollsPerMonth = (30 * 86_400) / INTERVAL_S;
    const workerMsPerPoll = ((after.worker - before.worker) / polls) * 1000;
    const serverMsPerPoll = ((after.server - before.server) / polls) * 1000;
    const cores = (after.worker - before.worker + after.server - before.server) / ((t1 - t0) / 1000);
    print(
      lateness.length
        ? `  ${polls} polls in ${((t1 - t0) / 1000).toFixed(0)}s; lateness s: median ${median(lateness).toFixed(2)}, p95 ${percentile(lateness, 0.95).toFixed(2)}, ` +
            `p99 ${percentile(lateness, 0.99).toFixed(2)}, max ${percentile(lateness, 1).toFixed(2)}; within 10 s: ${((lateness.filter((l) => l <= 10).length / lateness.length) * 100).toFixed(1)}%`
        : `  ${polls} polls in ${((t1 - t0) / 1000).toFixed(0)}s; lateness not measured: no account polled twice in the window (BENCH_FOLLOW_INTERVALS=2 or more)`,
    );
    print(
      `  CPU per poll: worker ${workerMsPerPoll.toFixed(2)} ms, Temporal server ${serverMsPerPoll.toFixed(2)} ms (${cores.toFixed(2)} cores together); ` +
        `history per poll: ${history.events.toFixed(2)} events, ${history.bytes.toFixed(0)} bytes (${history.cycles} follow cycles of ${sample.length} sampled, ${history.pollsPerBatch.toFixed(1)} polls a batch); ` +
        `worker peak RSS ${(peakRssKb / 1024).toFixed(0)} MiB with ${CACHED_WORKFLOWS || 'the default'} cached workflows and a ${WORKER_HEAP_MIB} MiB heap`,
    );
    print(
      `follow-fleet: ${ACCOUNTS} accounts every ${INTERVAL_S}s: ${cores.toFixed(2)} cores, worker ${workerMsPerPoll.toFixed(2)} ms + server ${serverMsPerPoll.toFixed(2)} ms a poll, ` +
        `p99 lateness ${lateness.length ? `${percentile(lateness, 0.99).toFixed(1)}s` : 'not measured'}, history ${(history.bytes * pollsPerMonth / 1048576).toFixed(2)} MiB an account-month (${pollsPerMonth} polls)`,
    );
    await Promise.all(handles.map((h) => h.cancel().catch(() => undefined)));
  } finally {
    await worker.kill();
    await bench.close();
  }
}

/**
 * History events and bytes per poll in the steady state, from each sampled export's last follow cycle
 * whose batch has ended (waiting up to `waitMs` for the batches its pause ends): from the follow timer
 * to the workflow task that takes the batch's result in and the markers it records. A cycle's batch
 * makes one poll now and one at each of its `pollsMs` (a run shorter than the hour a batch polls sees
 * it end early, by the pause): its history is spread over that many polls. Events a pause or a signal
 * added inside the batch's time are not the cycle's.
 */
async function historyPerPoll(client: Client, workflowIds: string[], waitMs: number): Promise<{ events: number; bytes: number; cycles: number; pollsPerBatch: number }> {
  const converter = client.options.loadedDataConverter.payloadConverter;
  const Type = temporal.api.enums.v1.EventType;
  const deadline = Date.now() + waitMs;
  let [events, bytes, polls, cycles] = [0, 0, 0, 0];
  for (const workflowId of workflowIds) {
    let all: temporal.api.history.v1.IHistoryEvent[];
    for (;;) {
      all = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const scheduled = all.filter((e) => e.eventType === Type.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).length;
      const closed = all.filter((e) => e.activityTaskCompletedEventAttributes || e.activityTaskFailedEventAttributes || e.activityTaskCanceledEventAttributes || e.activityTaskTimedOutEventAttributes).length;
      if (scheduled === closed || Date.now() > deadline) break;
      await sleep(1000);
    }
    const completed = all.flatMap((e, i) => (e.activityTaskCompletedEventAttributes ? [i] : []));
    for (const c of completed.reverse()) {
      const scheduledId = Number(all[c]!.activityTaskCompletedEventAttributes!.scheduledEventId);
      const s = all.findIndex((e) => Number(e.eventId) === scheduledId);
      let t = s;
      while (t >= 0 && all[t]!.eventType !== Type.EVENT_TYPE_TIMER_STARTED) t--;
      if (t < 0 || all.slice(t, s).some((e) => e.eventType === Type.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)) continue; // Not a follow cycle.
      const started = c - 1; // A batch's started event is written just before its end.
      let end = all.findIndex((e, i) => i > c && e.eventType === Type.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
      while (all[end + 1]?.eventType === Type.EVENT_TYPE_MARKER_RECORDED) end++;
      const cycle = [...all.slice(t, s + 1), ...all.slice(started, end + 1)];
      const input = converter.fromPayload<{ pollsMs?: number[] }>(all[s]!.activityTaskScheduledEventAttributes!.input!.payloads![0]!);
      events += cycle.length;
      bytes += temporal.api.history.v1.History.encode({ events: cycle }).finish().length;
      polls += 1 + (input.pollsMs?.length ?? 0);
      cycles++;
      break;
    }
  }
  return { events: events / Math.max(1, polls), bytes: bytes / Math.max(1, polls), cycles, pollsPerBatch: polls / Math.max(1, cycles) };
}
