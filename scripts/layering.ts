/**
 * Imports run downwards only. Each top-level folder has a layer; a module may import its own layer and
 * the layers below, never one above. The harness (the simulator, local servers, demo, benchmarks,
 * examples, tests) sits on top: it may import the product, and nothing in the product imports it.
 * test/unit/layering.test.ts runs the check over the project in `npm test`.
 *
 * A new top-level folder goes into LAYERS (a file in an unlisted folder fails the check, so it cannot be
 * forgotten); an import that must run upward goes into ALLOWED_UPWARD with the reason.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** Lowest first; folders on one line are one layer and may import each other. */
export const LAYERS: readonly (readonly string[])[] = [
  ['common', 'zendesk', 'contract', 'codec'], // Small helpers, what Zendesk's API is, what crosses the trust boundary, how payloads are sealed.
  ['workflows', 'activities', 'accounts'], // accounts: the registry a fleet shares, for the activities and the admin commands.
  ['worker'],
  ['client'],
  ['cli'],
  ['simulator', 'devserver', 'cluster', 'demo', 'bench', 'examples', 'scripts', 'test'], // The harness.
];

/** Upward imports the design wants, each with its reason: from a file (or folder) to a folder. */
export const ALLOWED_UPWARD: readonly { from: string; to: string; why: string }[] = [
  { from: 'cli/commands/simulator.ts', to: 'simulator', why: '`zendesk-export simulator` runs the simulator; loaded only by that command' },
];

export interface UpwardImport {
  /** The importing file, relative to the root. */
  file: string;
  /** The import as written. */
  specifier: string;
  /** What is wrong, in one sentence. */
  problem: string;
}

export interface LayerTable {
  layers: readonly (readonly string[])[];
  allowed?: readonly { from: string; to: string }[];
}

const DEFAULT_TABLE: LayerTable = { layers: LAYERS, allowed: ALLOWED_UPWARD };
const SKIPPED = new Set(['node_modules', 'dist', '.tools', '.git', '.temporal', 'export']);

/** The layer of each folder. */
function ranks(table: LayerTable): Map<string, number> {
  return new Map(table.layers.flatMap((folders, rank) => folders.map((folder) => [folder, rank] as const)));
}

/** The top-level folder of a file relative to the root, or undefined for a file at the root. */
function folderOf(file: string): string | undefined {
  const parts = file.split(path.sep);
  return parts.length > 1 ? parts[0] : undefined;
}

/**
 * The top-level folder an import names (`../client` names the folder itself), or undefined for a file
 * at the root (package.json, beside every layer) or outside it.
 */
function targetOf(file: string, specifier: string): string | undefined {
  const parts = path.normalize(path.join(path.dirname(file), specifier)).split(path.sep);
  const first = parts[0]!;
  const rootFile = parts.length === 1 && first.includes('.');
  return first === '..' || first === '.' || first === '' || rootFile ? undefined : first;
}

/** Every relative import, export-from, `import()` and `require()` of a TypeScript source. */
export function importsOf(source: string): string[] {
  return ts
    .preProcessFile(source, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((name) => name.startsWith('.'));
}

/** The upward imports of one file, given its path relative to the root and its text. */
export function checkFile(file: string, source: string, table: LayerTable = DEFAULT_TABLE): UpwardImport[] {
  const rank = ranks(table);
  const from = folderOf(file);
  if (from === undefined) return [];
  const own = rank.get(from);
  if (own === undefined) return [{ file, specifier: '', problem: `${from}/ is in no layer: add it to LAYERS in scripts/layering.ts.` }];
  const found: UpwardImport[] = [];
  for (const specifier of importsOf(source)) {
    const to = targetOf(file, specifier);
    if (to === undefined || to === from) continue;
    const target = rank.get(to);
    const allowed = table.allowed?.some((a) => a.to === to && (file === a.from || file.startsWith(`${a.from}/`)));
    if (target === undefined) found.push({ file, specifier, problem: `${to}/ is in no layer: add it to LAYERS in scripts/layering.ts.` });
    else if (target > own && !allowed) found.push({ file, specifier, problem: `${from}/ must not import ${to}/, which is above it.` });
  }
  return found;
}

/** The TypeScript files under the root's top-level folders (not node_modules, dist or tool folders). */
export function sourceFiles(root: string, dir = root): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (SKIPPED.has(name) || name.startsWith('.')) return [];
    if (statSync(full).isDirectory()) return sourceFiles(root, full);
    return name.endsWith('.ts') && dir !== root ? [path.relative(root, full)] : [];
  });
}

/** Every upward import in the project at `root`. */
export function checkLayering(root: string, table: LayerTable = DEFAULT_TABLE): UpwardImport[] {
  return sourceFiles(root).flatMap((file) => checkFile(file, readFileSync(path.join(root, file), 'utf8'), table));
}
