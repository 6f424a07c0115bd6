'use strict';
/**
 * A worker for tests only: the real worker (dist/, built by `npm test`) whose destinations kill the
 * whole process with SIGKILL right after page CRASH_AFTER_COMMIT_PAGE of an export is committed, so
 * the page is in the destination but Temporal never hears that the activity finished. Or, for S3
 * targets, mid-page: CRASH_BEFORE_CHECKPOINT_PAGE kills it once the page's object is stored and before
 * the checkpoint that vouches for it is. Configured like the CLI's worker: TEMPORAL_ADDRESS,
 * ZENDESK_EXPORT_TASK_QUEUE, ZENDESK_* credentials, ZENDESK_EXPORT_POSTGRES* / ZENDESK_EXPORT_S3* /
 * ZENDESK_EXPORT_OUTPUT_ROOT and the AWS variables from the environment.
 */
const path = require('node:path');

const dist = path.resolve(__dirname, '..', '..', 'dist');
const { runWorker } = require(path.join(dist, 'worker', 'main.js'));
const { resolveTemporalOptions } = require(path.join(dist, 'client', 'connection.js'));
const { destinationConfigFromEnv } = require(path.join(dist, 'activities', 'destinations', 'index.js'));

const midPage = process.env.CRASH_BEFORE_CHECKPOINT_PAGE !== undefined;
const crashAfter = Number(midPage ? process.env.CRASH_BEFORE_CHECKPOINT_PAGE : process.env.CRASH_AFTER_COMMIT_PAGE);
if (!Number.isSafeInteger(crashAfter) || crashAfter < 1) {
  process.stderr.write('CRASH_AFTER_COMMIT_PAGE or CRASH_BEFORE_CHECKPOINT_PAGE must be a page number.\n');
  process.exit(2);
}

if (midPage) {
  // The S3 destination's requests, as the server answers them: the first object named for the page is
  // the page's records; the checkpoint comes after its sideloads.
  const { PutObjectCommand, S3Client } = require('@aws-sdk/client-s3');
  const send = S3Client.prototype.send;
  const pageObject = new RegExp(`-${String(crashAfter).padStart(8, '0')}\\.ndjson(\\.gz)?$`);
  S3Client.prototype.send = async function (command, ...rest) {
    const answer = await send.call(this, command, ...rest);
    if (command instanceof PutObjectCommand && pageObject.test(command.input.Key)) process.kill(process.pid, 'SIGKILL');
    return answer;
  };
}

function wrapDestination(destination) {
  return {
    ...destination,
    async writePage(page) {
      await destination.writePage(page);
      // No cleanup, no reply: as if the machine died between the commit and the activity's completion.
      if (!midPage && page.pageNumber === crashAfter) process.kill(process.pid, 'SIGKILL');
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
