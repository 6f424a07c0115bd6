/** Following exports until they end: live lines on a terminal, plain lines in logs, JSON for scripts. */
import { WorkflowFailedError } from '@temporalio/client';
import type { ExportState } from '../workflows/types';
import type { ExportHandle } from './export-client';
import { progressLine, TerminalBlock, type ProgressSample } from './progress';

/** Exit codes, as the README documents them. */
export const EXIT = { ok: 0, failed: 1, usage: 2, detached: 130 } as const;

const print = (line: string) => process.stdout.write(`${line}\n`);

async function sample(handle: ExportHandle, resource: string): Promise<ProgressSample> {
  try {
    const [state, described] = await Promise.all([handle.progress(), handle.describe().catch(() => undefined)]);
    return { workflowId: handle.workflowId, resource, state, note: described?.retrying && `retrying, ${described.retrying}` };
  } catch (err) {
    return { workflowId: handle.workflowId, resource, note: `no progress yet (${(err as Error).message.split('\n')[0]})` };
  }
}

/**
 * Shows progress until every export ends. Ctrl-C detaches: the exports go on in Temporal.
 * Returns the exit code: 0 when all completed, 1 when one failed.
 */
export async function watch(
  handles: readonly ExportHandle[],
  options: { json?: boolean; detachHint?: string } = {},
): Promise<number> {
  const resourceOf = (h: ExportHandle) => h.workflowId.split('/')[2] ?? h.workflowId;
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
      (err) => results.set(h.workflowId, { ok: false, error: failureMessage(err) }),
    );
  }
  try {
    for (;;) {
      const samples = await Promise.all(handles.map((h) => sample(h, resourceOf(h))));
      const now = Date.now();
      const lines = samples.map((s) => progressLine(s, previous.get(s.workflowId), now));
      if (options.json) samples.forEach((s) => print(JSON.stringify({ workflowId: s.workflowId, ...s.state, note: s.note })));
      else if (block) block.draw(lines);
      else lines.forEach((line, i) => lastLine.get(handles[i]!.workflowId) !== line && (print(line), lastLine.set(handles[i]!.workflowId, line)));
      previous = new Map(samples.filter((s) => s.state).map((s) => [s.workflowId, s]));
      if (results.size === handles.length) break;
      if (detached) {
        const account = handles[0]?.workflowId.split('/')[1] ?? '';
        const again = `${handles.map(resourceOf).join(' ')} --account ${account}`;
        process.stderr.write(
          options.detachHint ??
            `\nDetached; the export goes on in Temporal. Watch again: zendesk-export watch ${again}\nCancel it: zendesk-export cancel --id <workflow id>\n`,
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
    } else if (!options.json) {
      print(`${h.workflowId}: ${r.state?.status}, ${r.state?.records} records in ${r.state?.pages} pages.`);
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

