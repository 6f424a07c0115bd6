#!/usr/bin/env node
// `npm start`, `npm run simulator`, `npm run export`: build only when a source changed since the last
// build made here (a full build takes seconds; most starts change nothing). The sources are the
// folders the build compiles, the build configuration and package.json; their newest change and their
// number (a deleted file counts) are kept in dist/.build-stamp.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync, readdirSync, statSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stampFile = path.join(root, 'dist', '.build-stamp');

function sourceFiles() {
  const { include } = JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8'));
  const files = ['package.json', 'tsconfig.json', 'tsconfig.build.json'].map((f) => path.join(root, f));
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.push(full);
    }
  };
  for (const dir of include) if (existsSync(path.join(root, dir))) walk(path.join(root, dir));
  return files;
}

function fingerprint() {
  const files = sourceFiles();
  const newest = Math.max(...files.map((f) => statSync(f).mtimeMs));
  return `${files.length} ${newest}`;
}

const before = fingerprint();
const upToDate = existsSync(stampFile) && readFileSync(stampFile, 'utf8') === before;
// --check: only say, by the exit code, whether a build is due (1) or not (0).
if (process.argv.includes('--check')) process.exit(upToDate ? 0 : 1);
if (upToDate) process.exit(0);
const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
writeFileSync(stampFile, before);
