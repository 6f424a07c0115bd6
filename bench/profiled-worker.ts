/**
 * The worker CLI with a CPU profile of its main thread (the activities, and the SDK's hand-over of
 * workflow tasks), for `BENCH_WORKER_CLI=dist/bench/profiled-worker.js`: Node refuses `--cpu-prof`
 * in NODE_OPTIONS, and a benchmark starts the worker itself. The profile is written to
 * BENCH_PROFILE_DIR (default the working folder) when the worker is asked to stop, or after
 * BENCH_PROFILE_SECONDS (default 240), whichever comes first; open it in Chrome's DevTools.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.start');
let written = false;
function writeProfile(): void {
  if (written) return;
  written = true;
  // An in-process session answers at once, so the profile is on disk before the worker goes on stopping.
  session.post('Profiler.stop', (err, result) => {
    if (!err) writeFileSync(path.resolve(process.env.BENCH_PROFILE_DIR ?? '.', `worker-main-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
}
process.prependListener('SIGTERM', writeProfile);
setTimeout(writeProfile, Number(process.env.BENCH_PROFILE_SECONDS ?? 240) * 1000).unref();

const cli = path.resolve(__dirname, '..', '..', 'bin', 'zendesk-export.js');
process.argv.splice(1, 1, cli);
void import(cli);
