/**
 * The package as an app gets it: the repository's tracked files copied unbuilt into a temp folder,
 * packed there with `npm pack` (its prepack builds), and the tarball installed into an empty app,
 * which then runs the CLI and imports the library; and `npm start`'s build step in that clone. The app installs the dependencies from the npm
 * registry (or npm's cache). Nothing is written to the checkout.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let tmp: string;
let clone: string;
let tarball: string;
let files: string[];
let app: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-package-'));
  // An unbuilt clone: the tracked files only (no dist/, no .tools/), with this checkout's node_modules to build with.
  clone = path.join(tmp, 'clone');
  for (const file of execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean)) {
    if (!existsSync(path.join(ROOT, file))) continue; // Deleted in the work tree, not yet committed.
    mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
    cpSync(path.join(ROOT, file), path.join(clone, file));
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'));
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', tmp], clone)) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(tmp, packed[0]!.filename);
  files = packed[0]!.files.map((f) => f.path);

  app = path.join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  npm(['install', '--no-audit', '--no-fund', tarball], app);
}, 900_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('packing an unbuilt clone builds it, and ships only what runs', () => {
  expect(files).toEqual(expect.arrayContaining(['dist/client/index.js', 'dist/client/index.d.ts', 'dist/cli/main.js', 'dist/worker/index.js', 'dist/workflow-bundle.js', 'bin/zendesk-export.js', 'scripts/install-temporal.js', 'README.md']));
  expect(files.filter((f) => /^(test|bench|cluster|\.ci|docs|\.tools)\/|^dist\/(bench|cluster)\/|\.test\.|^[a-z]+\/.*\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
  expect(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).private).toBeUndefined();
});

test('an app that depends on it imports ExportClient and createExportWorker', () => {
  const script = "const z = require('zendesk-export'); const w = require('zendesk-export/worker'); console.log(typeof z.ExportClient.connect, typeof w.createExportWorker)";
  expect(execFileSync(process.execPath, ['-e', script], { cwd: app, encoding: 'utf8' }).trim()).toBe('function function');
});

test('npx zendesk-export --help works in the app', () => {
  const r = spawnSync('npx', ['--no-install', 'zendesk-export', '--help'], { cwd: app, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^Usage: zendesk-export \[options\] \[command\]/);
  const sim = spawnSync('npx', ['--no-install', 'zendesk-export', 'simulator', '--help'], { cwd: app, encoding: 'utf8' });
  expect(sim.stdout).toMatch(/^Usage: zendesk-export simulator \[options\]/);
});

test('the Temporal binaries are not fetched for a dependent, even when its install script runs', () => {
  const installed = path.join(app, 'node_modules', 'zendesk-export');
  expect(readdirSync(installed).sort()).toEqual(['README.md', 'bin', 'dist', 'package.json', 'scripts']);
  const r = spawnSync(process.execPath, [path.join(installed, 'scripts', 'install-temporal.js')], { cwd: installed, encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(existsSync(path.join(installed, '.tools'))).toBe(false);
  expect(existsSync(path.join(app, '.tools'))).toBe(false);
});

test('npm start builds only when a source changed since its last build', () => {
  const buildIfChanged = (...args: string[]) => spawnSync(process.execPath, [path.join(clone, 'scripts', 'build-if-changed.js'), ...args], { cwd: clone, encoding: 'utf8' });
  expect(buildIfChanged().status).toBe(0); // The first start after a plain build builds once, and keeps a stamp.
  const built = statSync(path.join(clone, 'dist', 'workflow-bundle.js')).mtimeMs;
  expect(buildIfChanged('--check').status).toBe(0);
  expect(buildIfChanged().status).toBe(0);
  expect(statSync(path.join(clone, 'dist', 'workflow-bundle.js')).mtimeMs).toBe(built); // Nothing changed: nothing rebuilt.
  const source = path.join(clone, 'client', 'errors.ts');
  utimesSync(source, new Date(), new Date(Date.now() + 1000));
  expect(buildIfChanged('--check').status).toBe(1);
}, 600_000);
