'use strict';
/**
 * A worker for tests only: the real worker (dist/, built by `npm test`) whose destinations kill the
 * whole process with SIGKILL right after page CRASH_AFTER_COMMIT_PAGE of an export is committed, so
 * the page is in the destination but Temporal never hears that the activity finished. Configured
 * like the CLI's worker: TEMPORAL_ADDRESS, ZENDESK_EXPORT_TASK_QUEUE, ZENDESK_* credentials and
 * ZENDESK_EXPORT_POSTGRES* / ZENDESK_EXPORT_OUTPUT_ROOT from the environment.
 */
const path = require('node:path');

const dist = path.resolve(__dirname, '..', '..', 'dist');
const { runWorker } = require(path.join(dist, 'worker', 'main.js'));
const { resolveTemporalOptions } = require(path.join(dist, 'client', 'connection.js'));
const { destinationConfigFromEnv } = require(path.join(dist, 'activities', 'destinations', 'index.js'));

const crashAfter = Number(process.env.CRASH_AFTER_COMMIT_PAGE);
if (!Number.isSafeInteger(crashAfter) || crashAfter < 1) {
  process.stderr.write('CRASH_AFTER_COMMIT_PAGE must be a page number.\n');
  process.exit(2);
}

function wrapDestination(destination) {
  return {
    ...destination,
    async writePage(page) {
      await destination.writePage(page);
      // No cleanup, no reply: as if the machine died between the commit and the activity's completion.
      if (page.pageNumber === crashAfter) process.kill(process.pid, 'SIGKILL');
    },
  };
}

runWorker({
  temporal: resolveTemporalOptions(),
  logLevel: 'ERROR',
  activities: { env: process.env, destinations: destinationConfigFromEnv(process.env), wrapDestination },
}).catch((err) => {
  process.stderr.write(`${err && err.message ? err.message : String(err)}\n`);
  process.exit(1);
});
