/**
 * `npm run build` runs this after compiling: the workflow code bundled once into
 * dist/workflow-bundle.js, which `zendesk-export worker` loads instead of bundling at every start.
 */
import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { PREBUILT_BUNDLE_PATH, WORKFLOWS_PATH } from './create-worker';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  writeFileSync(PREBUILT_BUNDLE_PATH, code);
}

main().catch((err: Error) => {
  process.stderr.write(`Could not bundle the workflows: ${err.message}\n`);
  process.exit(1);
});
