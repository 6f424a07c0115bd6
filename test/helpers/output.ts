/** Reading an NDJSON export back, to compare it with the simulator's data. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Every record line under `<dir>/<resource>/` (not its sideload folders), in file order. */
export function readRecords(dir: string, resource: string): Record<string, unknown>[] {
  const folder = path.join(dir, resource);
  if (!existsSync(folder)) return [];
  const out: Record<string, unknown>[] = [];
  for (const name of readdirSync(folder).filter((n) => n.endsWith('.ndjson')).sort()) {
    for (const line of readFileSync(path.join(folder, name), 'utf8').split('\n')) {
      if (line) out.push(JSON.parse(line) as Record<string, unknown>);
    }
  }
  return out;
}

/** The sideload records of a resource's export. */
export function readSideload(dir: string, resource: string, sideload: string): Record<string, unknown>[] {
  return readRecords(path.join(dir, resource), sideload);
}

/** `id@version` of each record: equal multisets mean nothing lost and nothing written twice. */
export function versionKeys(records: readonly Record<string, unknown>[], versionField: string): string[] {
  return records.map((r) => `${String(r.id)}@${String(r[versionField])}`).sort();
}

/** The newest version of each id (what a consumer keeps after applying every change in order). */
export function newestById(records: readonly Record<string, unknown>[], versionField: string): Map<string, Record<string, unknown>> {
  const newest = new Map<string, Record<string, unknown>>();
  const second = (r: Record<string, unknown>) => {
    const v = r[versionField];
    return typeof v === 'number' ? v : Date.parse(String(v)) / 1000;
  };
  for (const r of records) {
    const prev = newest.get(String(r.id));
    if (!prev || second(r) >= second(prev)) newest.set(String(r.id), r);
  }
  return newest;
}

/** Duplicated `id@version` keys (must be none). */
export function duplicates(keys: readonly string[]): string[] {
  const seen = new Set<string>();
  return keys.filter((k) => (seen.has(k) ? true : (seen.add(k), false)));
}
