/**
 * Recorded histories as files: protobuf's own JSON form of a History (enum names, base64 bytes,
 * 64-bit numbers as text), read back into a History the replayer takes as it is.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';

const History = temporal.api.history.v1.History;
export type HistoryObject = temporal.api.history.v1.IHistory;

export interface RecordedHistory {
  workflowId: string;
  type: string;
  status: string;
  history: Record<string, unknown>;
}

export function saveHistory(file: string, meta: Omit<RecordedHistory, 'history'>, history: HistoryObject): void {
  const json = History.toObject(History.fromObject(history), { longs: String, enums: String, bytes: String });
  writeFileSync(file, `${JSON.stringify({ ...meta, history: json }, null, 1)}\n`);
}

export function loadHistory(file: string): RecordedHistory & { events: HistoryObject } {
  const recorded = JSON.parse(readFileSync(file, 'utf8')) as RecordedHistory;
  return { ...recorded, events: History.fromObject(recorded.history) };
}

/** Every recorded history under `dir`, as `version/scenario/file`: one folder per version that recorded them. */
export function historyFiles(dir: string): string[] {
  const folders = (at: string) => readdirSync(at, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  return folders(dir)
    .flatMap((version) => folders(path.join(dir, version)).map((scenario) => path.join(version, scenario)))
    .flatMap((folder) => readdirSync(path.join(dir, folder)).filter((f) => f.endsWith('.json')).map((f) => path.join(folder, f)))
    .sort();
}
