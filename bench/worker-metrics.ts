/**
 * What a worker process's own metrics say while a benchmark runs: how many of its workflow-task and
 * activity slots were in use, and how long tasks waited in the task queue before a slot took them
 * (schedule-to-start). Read from its Prometheus endpoint (`worker --metrics`), sampled every second,
 * so a run can tell "out of slots" from "out of CPU" from "the server is slow to hand tasks out".
 */

/** One metric's value for one worker type (or any labels), from Prometheus text. */
function valueOf(text: string, name: string, labelPart = ''): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    if (labelPart && !line.includes(labelPart)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total = (total ?? 0) + value;
  }
  return total;
}

export interface SlotFigures {
  /** Mean and peak slots in use over the samples, per worker type. */
  workflowSlots: { mean: number; peak: number; of: number };
  activitySlots: { mean: number; peak: number; of: number };
  /** Mean schedule-to-start over the tasks started between the first and last sample, in the metric's unit. */
  workflowTaskWait: number | undefined;
  activityWait: number | undefined;
  samples: number;
}

export interface MetricsSampler {
  /** Stops sampling; the figures over the samples taken. */
  stop(): Promise<SlotFigures>;
}

const WORKFLOW = 'worker_type="WorkflowWorker"';
const ACTIVITY = 'worker_type="ActivityWorker"';

export function sampleWorkerMetrics(url: string, everyMs = 1000): MetricsSampler {
  const texts: string[] = [];
  let pending: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    pending = fetch(url)
      .then((r) => r.text())
      .then((t) => void texts.push(t))
      .catch(() => undefined);
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await pending;
      const slots = (worker: string) => {
        const used = texts.map((t) => valueOf(t, 'temporal_worker_task_slots_used', worker) ?? 0);
        const free = texts.map((t) => valueOf(t, 'temporal_worker_task_slots_available', worker) ?? 0);
        const of = Math.max(0, ...used.map((u, i) => u + free[i]!));
        return { mean: used.reduce((a, b) => a + b, 0) / Math.max(1, used.length), peak: Math.max(0, ...used), of };
      };
      const meanOver = (name: string) => {
        const [first, last] = [texts[0], texts[texts.length - 1]];
        if (!first || !last) return undefined;
        const sum = (valueOf(last, `${name}_sum`) ?? 0) - (valueOf(first, `${name}_sum`) ?? 0);
        const count = (valueOf(last, `${name}_count`) ?? 0) - (valueOf(first, `${name}_count`) ?? 0);
        return count > 0 ? sum / count : undefined;
      };
      return {
        workflowSlots: slots(WORKFLOW),
        activitySlots: slots(ACTIVITY),
        workflowTaskWait: meanOver('temporal_workflow_task_schedule_to_start_latency'),
        activityWait: meanOver('temporal_activity_schedule_to_start_latency'),
        samples: texts.length,
      };
    },
  };
}

/** One line for a benchmark's output. */
export function describeSlots(f: SlotFigures): string {
  const wait = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(3));
  return (
    `slots in use (mean/peak of): workflow tasks ${f.workflowSlots.mean.toFixed(1)}/${f.workflowSlots.peak}/${f.workflowSlots.of}, ` +
    `activities ${f.activitySlots.mean.toFixed(1)}/${f.activitySlots.peak}/${f.activitySlots.of}; ` +
    `schedule-to-start (mean): workflow task ${wait(f.workflowTaskWait)}, activity ${wait(f.activityWait)} (${f.samples} samples)`
  );
}
