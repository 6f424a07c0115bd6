/**
 * `npm start` as its user runs it: the built demo (dist/demo/index.js) as a process, with its folders
 * in a temp folder (ZENDESK_EXPORT_DEMO_DIR) and its dev server on free ports; always the simulated
 * account and its own Temporal, whatever this process's environment holds.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { follow, type RunningProcess } from '../helpers/cli';

export const DEMO_PATH = path.resolve(__dirname, '../../dist/demo/index.js');

export function startDemo(dir: string, args: string[] = []): RunningProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, ZENDESK_EXPORT_DEMO_DIR: dir };
  for (const name of Object.keys(env)) if (/^(TEMPORAL_|ZENDESK_(?!EXPORT_DEMO_DIR$))/.test(name)) delete env[name];
  // Its dev server dies with it: its watchdog sees the demo go, however it goes.
  return follow(spawn(process.execPath, [DEMO_PATH, '--port', '0', '--ui-port', '0', ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] }));
}
