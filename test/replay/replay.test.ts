/**
 * Upgrade safety. Every recorded history (test/replay/histories/<version>/<path the workflows take>)
 * is replayed with today's workflow code: a change that alters the commands of a run already
 * under way fails here, before a deploy fails it in production. The replayer is itself tested: a
 * change without `patched()` fails replay, the same change with it passes. Record new histories with
 * `npm run record-histories` when a deliberate change is made (docs/upgrades.md).
 */
import path from 'node:path';
import { version } from '../../package.json';
import { Worker, bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { bundleWorkflows, installTestRuntime } from '../helpers/temporal';
import { historyFiles, loadHistory } from './history-files';

const HISTORIES = path.join(__dirname, 'histories');
const files = historyFiles(HISTORIES);

/** The workflows of a version file (test/replay/versions), bundled once. */
const versions = new Map<string, Promise<{ code: string }>>();
function bundleVersion(name: string): Promise<{ code: string }> {
  installTestRuntime();
  let bundle = versions.get(name);
  if (!bundle) {
    bundle = bundleWorkflowCode({ workflowsPath: require.resolve(`./versions/${name}`), logger: new DefaultLogger('ERROR') }).then(({ code }) => ({ code }));
    versions.set(name, bundle);
  }
  return bundle;
}

test('every path the workflows take has a recorded history, from this version', () => {
  const scenarios = new Set(files.filter((f) => f.startsWith(`${version}${path.sep}`)).map((f) => f.split(path.sep)[1]));
  for (const s of ['plain', 'rate-limited', 'pause-resume', 'stuck-second', 'follow', 'follow-batch', 'window-rounds', 'coordinator', 'cancelled', 'retried', 'failed']) expect(scenarios).toContain(s);
  expect(files.some((f) => f.includes('accountCoordinator'))).toBe(true);
});

describe("today's workflow code replays every recorded history", () => {
  test.each(files)('%s', async (file) => {
    const recorded = loadHistory(path.join(HISTORIES, file));
    await Worker.runReplayHistory({ workflowBundle: await bundleWorkflows(WORKFLOWS_PATH) }, recorded.events, recorded.workflowId);
  });
});

describe('the replayer catches a change that is not patched', () => {
  const exportHistories = files.filter((f) => f.includes('exportResource'));

  test('a new command without patched() fails replay of a run already under way', async () => {
    const recorded = loadHistory(path.join(HISTORIES, exportHistories[0]!));
    await expect(Worker.runReplayHistory({ workflowBundle: await bundleVersion('unpatched') }, recorded.events, recorded.workflowId)).rejects.toBeInstanceOf(
      DeterminismViolationError,
    );
  });

  test.each(exportHistories)('the same change behind patched() replays %s', async (file) => {
    const recorded = loadHistory(path.join(HISTORIES, file));
    await Worker.runReplayHistory({ workflowBundle: await bundleVersion('patched') }, recorded.events, recorded.workflowId);
  });
});
