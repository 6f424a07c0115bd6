// Where the Temporal CLI (dev server) and the time-skipping test server live on this machine, in order:
// an explicit env variable, the command on PATH, the copy `npm install` put in .tools/venv/bin, and last
// undefined, which lets the SDK download its own (needs the open internet).
'use strict';
const { accessSync, constants } = require('node:fs');
const path = require('node:path');

const TOOLS_BIN = path.resolve(__dirname, '..', '.tools', 'venv', 'bin');

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (dir && executable(path.join(dir, command))) return path.join(dir, command);
  }
  return undefined;
}

function find(variable, command) {
  // An explicit path is returned even if missing, so the error names the variable.
  if (process.env[variable]) return { path: process.env[variable], source: 'env', describe: `${variable}=${process.env[variable]}` };
  const found = onPath(command);
  if (found) return { path: found, source: 'path', describe: `${found} (on PATH)` };
  const local = path.join(TOOLS_BIN, command);
  if (executable(local)) return { path: local, source: 'tools', describe: `${local} (installed by npm install)` };
  return undefined;
}

module.exports = {
  TOOLS_BIN,
  findTemporalCli: () => find('TEMPORAL_CLI_PATH', 'temporal'),
  findTestServer: () => find('TEMPORAL_TEST_SERVER_PATH', 'temporal-test-server'),
};
