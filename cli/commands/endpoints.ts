/** `endpoints`: the seven endpoints, printed from the endpoint table. */
import type { Command } from 'commander';
import { ENDPOINTS } from '../../zendesk/endpoints';
import { print, type Globals } from '../context';

export function register(program: Command, global: Globals): void {
  program
    .command('endpoints')
    .description('the seven Incremental Export endpoints this tool calls')
    .action(() => {
      if (!global().json) print(`${'ENDPOINT'.padEnd(15)} ${'PAGING'.padEnd(7)} ${'PATH'.padEnd(40)} RATE BUCKET`);
      for (const e of ENDPOINTS) {
        const line = { id: e.id, path: e.path, paging: e.paging, resources: e.resources, params: e.params, sideloads: Object.keys(e.sideloads), maxPerPage: e.maxPerPage, bucket: e.bucket };
        print(global().json ? JSON.stringify(line) : `${e.id.padEnd(15)} ${e.paging.padEnd(7)} ${e.path.padEnd(40)} ${e.bucket}`);
      }
    });
}
