/**
 * Following exports until they end: live lines on a terminal, plain lines in logs, JSON for scripts.
 * Each round asks Temporal where every export is (describe, then the progress query of a running one)
 * rather than holding long polls open, so a watch of months holds nothing open between rounds, and
 * Ctrl-C cancels the round in flight before the caller closes the connection.
 */
import { setMaxListeners } from 'node:events';
import { UnavailableError } from '../client/errors';
import { innermostCause } from '../common/cause';
import { sleep } from '../common/sleep';
import type { ExportClient, ExportHandle } from '../client/export-client';
import { parseExportWorkflowId } from '../workflows/ids';
import { formatDuration, progressLine, TerminalBlock, type ProgressSample } from './progress';
import { resourceOf } from './target';

/** Exit codes, as the README documents them. */
export const EXIT = { ok: 0, failed: 1, usage: 2, detached: 130 } as const;

const print = (line: string) => process.stdout.write(`${line}\n`);

/** How an export ended: completed or cancelled (its state says where), or failed (with Zendesk's or the worker's words). */
export type Ending = { outcome: 'completed' | 'cancelled' } | { outcome: 'failed'; error: string };

/** A sample, and the ending when the export has ended. */
interface Observed {
  sample: ProgressSample;
  ending?: Ending;
}

export interface WatchOptions {
  json?: boolean;
  /** Printed on Ctrl-C instead of the default advice. */
  detachHint?: string;
  /** Told each export's last sample once it has ended (the demo sums up from them). */
  onEnd?: (sample: ProgressSample, ending: Ending) => void;
}

/**
 * Shows progress until every export ends; an export no worker has started yet is waited for, with a
 * note. Ctrl-C detaches: the exports go on in Temporal. Returns the exit code: 0 when all completed
 * (or were cancelled), 1 when one failed, 130 when detached. No call it made on the client's
 * connection is left in flight when it returns, so the caller may close the connection at once.
 */
export async function watch(client: ExportClient, handles: readonly ExportHandle[], options: WatchOptions = {}): Promise<number> {
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const display = new Display(options.json ?? false);
  const ended = new Map<string, Observed>();
  const since = Date.now();
  try {
    for (;;) {
      const round = await withCancel(client, interrupt.signal, () =>
        Promise.all(handles.map((h) => ended.get(h.workflowId) ?? observe(h, display.previous(h.workflowId), client.taskQueue, since))),
      );
      if (interrupt.signal.aborted) {
        process.stderr.write(options.detachHint ?? defaultDetachHint(handles));
        return EXIT.detached;
      }
      for (const o of round) {
        if (!o.ending || ended.has(o.sample.workflowId)) continue;
        ended.set(o.sample.workflowId, o);
        options.onEnd?.(o.sample, o.ending);
      }
      display.show(round.map((o) => o.sample), ended);
      if (ended.size === handles.length) break;
      await sleep(display.tty ? 500 : 2000, interrupt.signal);
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  let code: number = EXIT.ok;
  for (const { sample, ending } of ended.values()) {
    if (ending?.outcome !== 'failed') continue;
    code = EXIT.failed;
    const sentence = `Export ${sample.workflowId} failed: ${ending.error}`;
    process.stderr.write(options.json ? `${JSON.stringify({ error: sentence, workflowId: sample.workflowId, exitCode: code })}\n` : `${sentence}\n`);
  }
  return code;
}

/**
 * Runs one round of calls so that aborting `signal` cancels them (gRPC CANCELLED, which is never
 * retried). The SDK adds a listener per call and never removes it, so each round gets a signal of its
 * own, dropped after the round (its listeners with it; a round makes a few calls per export).
 */
async function withCancel<T>(client: ExportClient, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  const round = new AbortController();
  setMaxListeners(0, round.signal);
  const relay = () => round.abort();
  signal.addEventListener('abort', relay, { once: true });
  try {
    return await client.client.connection.withAbortSignal(round.signal, fn);
  } finally {
    signal.removeEventListener('abort', relay);
  }
}

/** Where an export is: ended (from what Temporal keeps), running (its worker's answer), or waiting for a worker. */
async function observe(h: ExportHandle, previous: ProgressSample | undefined, taskQueue: string, since: number): Promise<Observed> {
  const base = { workflowId: h.workflowId, resource: resourceOf(h.workflowId) };
  try {
    if (!(await h.hasStarted())) return { sample: { ...base, note: waitingNote(taskQueue, Date.now() - since) } };
    const described = await h.describe();
    const retrying = described.retrying && `retrying, ${described.retrying}`;
    const status = described.temporalStatus;
    if (status === 'RUNNING' || status === 'CONTINUED_AS_NEW') return { sample: { ...base, state: await h.progress(), note: retrying } };
    const state = described.state;
    if (status === 'COMPLETED') return { sample: { ...base, state }, ending: { outcome: 'completed' } };
    if (status === 'CANCELLED') return { sample: { ...base, state, note: state ? undefined : 'cancelled' }, ending: { outcome: 'cancelled' } };
    const error = described.failure ?? `it ended ${status} in Temporal`;
    return { sample: { ...base, state, note: state?.error ? undefined : `${status.toLowerCase()}: ${error}` }, ending: { outcome: 'failed', error } };
  } catch (err) {
    const note = err instanceof UnavailableError ? err.message : `no progress yet (${String((err as Error)?.message).split('\n')[0]})`;
    return { sample: { ...base, state: previous?.state, note } };
  }
}

/** Lines for a terminal (redrawn), a log (each change once) or a script (JSON, each change). */
class Display {
  readonly tty: boolean;
  private readonly block?: TerminalBlock;
  private readonly printed = new Map<string, string>();
  private readonly last = new Map<string, ProgressSample>();
  private readonly finalShown = new Set<string>();

  constructor(private readonly json: boolean) {
    this.tty = Boolean(process.stdout.isTTY) && !json;
    this.block = this.tty ? new TerminalBlock(process.stdout) : undefined;
  }

  previous(workflowId: string): ProgressSample | undefined {
    return this.last.get(workflowId);
  }

  show(samples: readonly ProgressSample[], ended: ReadonlyMap<string, Observed>): void {
    const now = Date.now();
    const lines = samples.map((s) => progressLine(s, this.last.get(s.workflowId), now));
    if (this.block) this.block.draw(lines);
    else {
      samples.forEach((s, i) => {
        // An ended export's last line is shown once, never again.
        if (this.finalShown.has(s.workflowId)) return;
        if (ended.has(s.workflowId)) this.finalShown.add(s.workflowId);
        const text = this.json ? JSON.stringify({ workflowId: s.workflowId, ...s.state, note: s.note }) : lines[i]!;
        if (this.printed.get(s.workflowId) === text) return;
        print(text);
        this.printed.set(s.workflowId, text);
      });
    }
    for (const s of samples) if (s.state) this.last.set(s.workflowId, s);
  }
}

/** The note while no worker has started an export; it grows by the minute, so a log shows the wait going on. */
function waitingNote(taskQueue: string, waitedMs: number): string {
  const minutes = Math.floor(waitedMs / 60_000);
  return (
    `waiting for a worker to start it${minutes ? ` (${formatDuration(minutes * 60_000)} so far)` : ''}: ` +
    `is "zendesk-export worker" running on task queue "${taskQueue}"? It starts when one does; Ctrl-C detaches.`
  );
}

function defaultDetachHint(handles: readonly ExportHandle[]): string {
  const account = parseExportWorkflowId(handles[0]!.workflowId)?.account ?? '';
  return `\nDetached; the exports go on in Temporal. Watch again: zendesk-export watch ${handles.map((h) => resourceOf(h.workflowId)).join(' ')} --account ${account}\n`;
}


/** The innermost message of a workflow failure: Zendesk's words, or the worker's. */
export function failureMessage(err: unknown): string {
  return innermostCause(err)?.message ?? String(err);
}
