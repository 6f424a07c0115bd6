/**
 * `zendesk-export accounts connect` as an admin runs it against the simulator: the CLI prints the
 * authorization URL, the "browser" (fetch) follows it, the simulator approves at once and redirects
 * to the CLI's local callback, and the CLI stores the grant in the registry.
 */
import { spawn } from 'node:child_process';
import { DEFAULT_OAUTH } from '../../simulator';
import { CLI_PATH } from '../../devserver/worker-process';
import type { CliResult } from './cli';

export function connectWithCli(account: string, env: Record<string, string>, cwd: string): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI_PATH, 'accounts', 'connect', account, '--port', '0', '--client-id', DEFAULT_OAUTH.clientId], {
    cwd,
    env: { ...process.env, ZENDESK_OAUTH_CLIENT_SECRET: DEFAULT_OAUTH.clientSecret, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let browsed = false;
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => {
    stdout += d;
    const url = /https?:\/\/\S+oauth\/authorizations\/new\S*/.exec(stdout)?.[0];
    if (url && !browsed) {
      browsed = true;
      void fetch(url).then((r) => r.text());
    }
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}
