#!/usr/bin/env node
// The compiled CLI (npm run build first).
require('../dist/client/cli').main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    process.stderr.write(`Unexpected error, please report it: ${err && err.message}\n`);
    process.exit(1);
  },
);
