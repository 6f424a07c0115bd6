/** `status`: one export's state, position and notes, whether or not a worker is up. */
import type { Command } from 'commander';
import { UnavailableError } from '../../client/errors';
import { addTargetFlags, print, withClient, workflowIdOf, type Globals, type TargetFlags } from '../context';
import { notFound } from '../errors';
import { progressLine } from '../progress';
import { resourceOf } from '../target';

export function register(program: Command, global: Globals): void {
  addTargetFlags(program.command('status').argument('[resource]').description("one export's progress and position")).action(
    async (resource: string | undefined, flags: TargetFlags) => {
      const workflowId = workflowIdOf(resource, flags);
      await withClient(global(), async (client) => {
        const handle = client.handle(workflowId);
        const described = await handle.describe().catch(notFound(workflowId));
        // An ended export recorded its state; a running one is asked, and may have no worker to answer.
        let state = described.state;
        let note: string | undefined;
        if (!state && described.temporalStatus === 'RUNNING') {
          state = await handle.progress().catch((err: unknown) => {
            if (err instanceof UnavailableError) note = err.message;
            else throw err;
            return undefined;
          });
        }
        if (global().json) return print(JSON.stringify({ ...described, state, note }));
        print(`${workflowId}  (${described.temporalStatus})`);
        if (state) {
          print(progressLine({ workflowId, resource: resourceOf(workflowId), state }, undefined, Date.now()));
          print(`position: ${JSON.stringify(state.at.next)}${state.at.endpoint !== workflowId.split('/').pop() ? ` on ${state.at.endpoint}` : ''}`);
          for (const n of state.notes) print(`note: ${n}`);
        }
        if (described.failure) print(`failed: ${described.failure}`);
        if (described.retrying) print(`retrying: ${described.retrying}`);
        if (note) print(note);
      });
    },
  );
}
