/** What the demo tells its user: where things are, how long it takes, what to do next. */
import path from 'node:path';
import { counted, formatDuration } from '../cli/progress';
import type { ExportState } from '../workflows/types';
import type { Resource } from '../zendesk/endpoints';

/**
 * `3,004 ticket versions, 1,500 user versions, ...`: records written, each change of a record a new
 * version (a follow run writes a changed ticket again), so not a count of tickets.
 */
function totals(states: ReadonlyMap<Resource, ExportState | undefined>): string {
  const words: Record<Resource, string> = { tickets: 'ticket version', users: 'user version', organizations: 'organization version', ticket_events: 'ticket event version' };
  const parts = [...states].map(([resource, state]) => counted(state?.progress.records ?? 0, words[resource]));
  return parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : (parts[0] ?? 'nothing');
}

/** The folder in words, relative to where the user stands when that is shorter. */
export function shown(folder: string): string {
  const relative = path.relative(process.cwd(), folder);
  return relative && !relative.startsWith('..') && relative.length < folder.length ? `./${relative}` : folder;
}

export function completeMessage(folder: string, states: ReadonlyMap<Resource, ExportState | undefined>, simulated: boolean, tookMs?: number): string {
  const done = tookMs === undefined ? 'The demo export is complete' : `Done in ${formatDuration(tookMs)}: the demo export is complete`;
  return (
    `\n${done}: ${totals(states)}, as NDJSON in ${shown(folder)}/<resource>/.\n` +
    `Next:\n` +
    `  npm start -- --follow   keep it current: poll for changes${simulated ? ' (the simulator makes some)' : ''} until Ctrl-C (follow mode)\n` +
    `  npm start -- --fresh    start over: new exports, after deleting ${shown(folder)} and the demo's Temporal state\n`
  );
}

export function introMessage(options: { simulated: boolean; follow?: number; resumed: string[]; folder: string }): string {
  const resumed = options.resumed.length ? `Going on with ${options.resumed.join(', ')} from where ${options.resumed.length === 1 ? 'it' : 'they'} stopped.\n` : '';
  const plan =
    options.follow !== undefined
      ? `Follow mode: once caught up, each export polls for changes every ${options.follow}s and writes what changed; this runs until Ctrl-C (npm start -- --follow goes on later).\n`
      : options.simulated
        ? 'The export takes under a minute; then this exits. Ctrl-C stops it sooner, and npm start again resumes where it stopped.\n'
        : 'This runs until the export is complete, then exits. Ctrl-C stops it sooner, and npm start again resumes where it stopped.\n';
  return `${resumed}${plan}Writing NDJSON to ${shown(options.folder)}/<resource>/.\n\n`;
}

export const STOPPED = {
  once: '\nStopped. Run `npm start` again to resume where it left off (finished exports are not redone).\n',
  follow: '\nStopped following. `npm start -- --follow` goes on keeping the copy current; `npm start` brings it up to date once and exits.\n',
};
