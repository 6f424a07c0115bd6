/** `watch`: progress of running exports until they end. */
import type { Command } from 'commander';
import { UserError } from '../../client/errors';
import type { ExportHandle } from '../../client/export-client';
import { addTargetFlags, resourcesOf, withClient, workflowIdOf, type Globals, type TargetFlags } from '../context';
import { watch } from '../watch';

export function register(program: Command, global: Globals): void {
  addTargetFlags(program.command('watch').argument('[resources...]').description('show progress of running exports until they end')).action(
    async (names: string[], flags: TargetFlags) => {
      const ids = flags.id ? [flags.id] : resourcesOf(names.length ? names : ['all']).map((r) => workflowIdOf(r, { ...flags, id: undefined }));
      process.exitCode = await withClient(global(), async (client) => {
        const handles: ExportHandle[] = [];
        for (const id of ids) if (await client.describeRun(id)) handles.push(client.handle(id));
        if (!handles.length) throw new UserError(`No export to watch: none of ${ids.join(', ')} exists.`);
        return watch(client, handles, { json: global().json });
      });
    },
  );
}
