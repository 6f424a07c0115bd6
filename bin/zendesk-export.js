#!/usr/bin/env node
// The compiled CLI: `npm run build` makes it.
const path = require('node:path');
const cli = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!require('node:fs').existsSync(cli)) {
  process.stderr.write('zendesk-export is not built yet: run `npm run build` in its folder first.\n');
  process.exit(2);
}
// Output piped into a command that stops reading (`| head`) ends the CLI quietly.
process.stdout.on('error', (err) => process.exit(err.code === 'EPIPE' ? 0 : 1));
require(cli).main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    process.stderr.write(`Unexpected error, please report it: ${err && err.message}\n`);
    process.exit(1);
  },
);
