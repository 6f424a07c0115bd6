/** `pause`, `resume`, `cancel`: control an export by name. */
import type { Command } from 'commander';
import { addTargetFlags, print, withClient, workflowIdOf, type Globals, type TargetFlags } from '../context';
import { notFound } from '../errors';
import { targetArgs } from '../target';

export function register(program: Command, global: Globals): void {
  addTargetFlags(program.command('pause').argument('[resource]').description('pause an export after the page in flight')).action(
    async (resource: string | undefined, flags: TargetFlags) => {
      const id = workflowIdOf(resource, flags);
      await withClient(global(), async (client) => {
        await client.handle(id).pause().catch(notFound(id));
        print(`Paused ${id}. Resume it with: zendesk-export resume ${targetArgs(id)}`);
      });
    },
  );

  addTargetFlags(
    program.command('resume').argument('[resource]').description('resume a paused export, or restart a stopped one from where it stopped'),
  ).action(async (resource: string | undefined, flags: TargetFlags) => {
    const id = workflowIdOf(resource, flags);
    await withClient(global(), async (client) => {
      const handle = client.handle(id);
      const d = await handle.describe().catch(notFound(id));
      if (d.temporalStatus === 'RUNNING') {
        if (!(await handle.progress()).paused) return print(`${id} is already running; nothing to resume.`);
        await handle.resume();
        print(`Resumed ${id}.`);
      } else {
        const resumed = await client.resumeStopped(id);
        const waiting = resumed.pending ? ' No worker has picked it up yet; it starts when one does.' : '';
        print(`Restarted ${id} from where it stopped (it had ${d.temporalStatus.toLowerCase()}).${waiting}`);
      }
    });
  });

  addTargetFlags(program.command('cancel').argument('[resource]').description('stop an export; resume continues from where it stopped')).action(
    async (resource: string | undefined, flags: TargetFlags) => {
      const id = workflowIdOf(resource, flags);
      await withClient(global(), async (client) => {
        await client.handle(id).cancel().catch(notFound(id));
        print(`Cancelling ${id}. Restart it later with: zendesk-export resume ${targetArgs(id)}`);
      });
    },
  );
}
