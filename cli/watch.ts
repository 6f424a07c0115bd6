/** Following exports until they end: live lines on a terminal, plain lines in logs, JSON for scripts. */
import { WorkflowFailedError } from '@temporalio/client';
import { UnavailableError } from '../client/errors';
import type { ExportHandle } from '../client/export-client';
import type { ExportState } from '../workflows/types';
import { progressLine, TerminalBlock, type ProgressSample } from './progress';
import { resourceOf } from './target';
import { parseExportWorkflowId } from '../workflows/ids';

/** Exit codes, as the README documents them. */
export const EXIT = { ok: 0, failed: 1, usage: 2, detached: 130 } as const;

const print = (line: string) => process.stdout.write(`${line}\n`);

async function sample(handle: ExportHandle, taskQueue: string): Promise<ProgressSample> {
  const base = { workflowId: handle.workflowId, resource: resourceOf(handle.workflowId) };
  if (handle.pending) return { ...base, note: `waiting for a worker to start it (is "zendesk-export worker" running on task queue "${taskQueue}"?)` };
  try {
    const described = await handle.describe();
    const retrying = described.retrying && `retrying, ${described.retrying}`;
    if (described.state || described.temporalStatus !== 'RUNNING') return { ...base, state: described.state, note: described.failure ?? retrying };
    return { ...base, state: await handle.progress(), note: retrying };
  } catch (err) {
    if (err instanceof UnavailableError) return { ...base, note: err.message };
    return { ...base, note: `no progress yet (${String((err as Error)?.message).split('\n')[0]})` };
  }
}

export interface WatchOptions {
  json?: boolean;
  /** Named in the note shown while no worker has started an export. */
  taskQueue: string;
  /** Printed on Ctrl-C instead of the default advice. */
  detachHint?: string;
}

/**
 * Shows progress until every export ends; an export no worker has started yet is waited for, with a
 * note. Ctrl-C detaches: the exports go on in Temporal. Returns the exit code: 0 when all completed
 * (or were cancelled), 1 when one failed, 130 when detached.
 */
export async function watch(handles: readonly ExportHandle[], options: WatchOptions): Promise<number> {
  const tty = process.stdout.isTTY && !options.json;
  const block = tty ? new TerminalBlock(process.stdout) : undefined;
  const lastLine = new Map<string, string>();
  let previous = new Map<string, ProgressSample>();
  let detached = false;
  const onSigint = () => (detached = true);
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  const results = new Map<string, { ok: boolean; state?: ExportState; error?: string }>();
  for (const h of handles) {
    h.result().then(
      (r) => results.set(h.workflowId, { ok: true, state: r.state }),
      (err: unknown) => results.set(h.workflowId, { ok: false, error: failureMessage(err) }),
    );
  }
  try {
    for (;;) {
      const finishedBefore = results.size === handles.length;
      const samples = await Promise.all(handles.map((h) => sample(h, options.taskQueue)));
      const now = Date.now();
      const lines = samples.map((s) => progressLine(s, previous.get(s.workflowId), now));
      if (options.json) samples.forEach((s) => print(JSON.stringify({ workflowId: s.workflowId, ...s.state, note: s.note })));
      else if (block) block.draw(lines);
      else lines.forEach((line, i) => lastLine.get(handles[i]!.workflowId) !== line && (print(line), lastLine.set(handles[i]!.workflowId, line)));
      previous = new Map(samples.filter((s) => s.state).map((s) => [s.workflowId, s]));
      if (finishedBefore) break; // The lines above show where each ended.
      if (detached) {
        process.stderr.write(
          options.detachHint ??
            `\nDetached; the exports go on in Temporal. Watch again: zendesk-export watch ${handles.map((h) => resourceOf(h.workflowId)).join(' ')}` +
              ` --account ${parseExportWorkflowId(handles[0]!.workflowId)?.account ?? ''}\n`,
        );
        return EXIT.detached;
      }
      await new Promise((r) => setTimeout(r, tty ? 500 : 2000));
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigint);
  }
  let code: number = EXIT.ok;
  for (const h of handles) {
    const r = results.get(h.workflowId)!;
    if (!r.ok) {
      code = EXIT.failed;
      process.stderr.write(`Export ${h.workflowId} failed: ${r.error}\n`);
    }
  }
  return code;
}

/** The innermost message of a workflow failure: Zendesk's words, or the worker's. */
export function failureMessage(err: unknown): string {
  let e = err as { cause?: unknown; message?: string } | undefined;
  if (e instanceof WorkflowFailedError || e?.cause) while (e?.cause) e = e.cause as typeof e;
  return e?.message ?? String(err);
}
