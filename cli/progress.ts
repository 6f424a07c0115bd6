/** Progress in words: one line per export, for terminals, logs and `--json`. */
import type { ExportState } from '../workflows/types';

export interface ProgressSample {
  workflowId: string;
  resource: string;
  state?: ExportState;
  /** Temporal's status when the export is closed, or why it could not be read. */
  note?: string;
}

/** `1 page`, `2 pages`, `1,234 records`. */
export function counted(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

const ENDED = new Set(['completed', 'cancelled', 'failed', 'needs-reauthorization']);

/**
 * Time-based exports know how far through time they are, so they get an ETA; cursor positions are
 * opaque and an export that follows never ends, so they do not.
 */
function eta(state: ExportState, nowMs: number, recordsPerSecond: number): string {
  // From the epoch (start time 0) there is no telling where the data begins.
  const { next } = state.at;
  const first = state.progress.firstStartTime;
  if (next.kind !== 'time' || !first || recordsPerSecond <= 0 || state.progress.endOfStreamAt || ENDED.has(state.status)) return '';
  const covered = next.startTime - first;
  const total = nowMs / 1000 - first;
  if (covered <= 0 || total <= covered) return '';
  const elapsed = nowMs - state.progress.startedAt;
  return `, ETA ${formatDuration((elapsed * (total - covered)) / covered)}`;
}

/**
 * Records a second: since the previous sample while the export runs; over its whole run once it has
 * ended (a rate since the last sample would read 0/s and make the last line differ from the one before).
 */
function recordsPerSecond(state: ExportState, previous: ExportState | undefined): number {
  const p = state.progress;
  const since = previous && !ENDED.has(state.status) ? previous.progress : undefined;
  const seconds = ((p.updatedAt - (since?.updatedAt ?? p.startedAt)) / 1000);
  return seconds > 0 ? (p.records - (since?.records ?? 0)) / seconds : 0;
}

/** One line: `tickets      running   12 pages  11,234 records  45.1/s  ...`. */
export function progressLine(sample: ProgressSample, previous: ProgressSample | undefined, nowMs: number): string {
  const s = sample.state;
  if (!s) return `${sample.resource.padEnd(14)} ${sample.note ?? 'not started'}`;
  const p = s.progress;
  const rate = recordsPerSecond(s, previous?.state);
  const extra = [
    p.rateLimited ? `${p.rateLimited}×429` : '',
    p.waitedMs ? `waited ${formatDuration(p.waitedMs)}` : '',
    s.retry && !ENDED.has(s.status) ? `${counted(s.retry.attempts, 'failed attempt')}, last: ${s.retry.message}` : '',
    s.error ? `error: ${s.error}` : '',
  ].filter(Boolean);
  const pages = `${String(p.pages).padStart(6)} page${p.pages === 1 ? ' ' : 's'}`;
  return (
    `${sample.resource.padEnd(14)} ${s.status.padEnd(20)} ${pages} ` +
    `${p.records.toLocaleString('en-US').padStart(12)} record${p.records === 1 ? ' ' : 's'} ${rate.toFixed(1).padStart(8)}/s` +
    eta(s, nowMs, rate) +
    (extra.length ? `  ${extra.join(', ')}` : '') +
    (sample.note ? `  ${sample.note}` : '')
  );
}

/** Redraws a block of lines in place on a terminal. */
export class TerminalBlock {
  private lines = 0;
  constructor(private readonly out: NodeJS.WriteStream) {}
  draw(lines: readonly string[]): void {
    const width = this.out.columns || 120;
    let text = this.lines ? `\x1b[${this.lines}F` : '';
    for (const line of lines) text += `\x1b[2K${line.slice(0, width - 1)}\n`;
    this.out.write(text);
    this.lines = lines.length;
  }
}
