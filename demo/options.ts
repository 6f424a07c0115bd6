/** `npm start [-- flags]`: what the demo is asked to do, and where it keeps its files. */
import path from 'node:path';
import { UserError } from '../client/errors';
import { MAX_FOLLOW_SECONDS } from '../contract/limits';

export interface DemoOptions {
  /** Keep the copy current after catching up (follow mode), instead of exporting once and exiting. */
  follow: boolean;
  /** Follow mode's poll interval, when given. */
  followSeconds?: number;
  /** Start over: new exports, the demo's export folder and Temporal state cleared first. */
  fresh: boolean;
  /** The dev server's gRPC and Web UI ports; 0 picks a free one. */
  port: number;
  uiPort: number;
  help: boolean;
}

/** Follow mode's poll interval when none is given: short on the simulator, so changes show. */
export const DEFAULT_FOLLOW_SECONDS = { simulator: 10, zendesk: 300 } as const;

export const HELP = `Usage: npm start [-- options]

Runs a Temporal dev server, the Zendesk simulator, a worker and an export of all four resources of the
simulated account "demo" into ./export/demo/, with live progress; it exits once the export is complete.
Ctrl-C stops it; npm start again resumes where it stopped and never redoes finished work.

  --follow [seconds]   keep the copy current: after catching up, poll for changes every N seconds
                       (default 10 on the simulator, 300 on Zendesk) until Ctrl-C
  --fresh              start over: new exports; deletes ./export/<account>/ and the demo's Temporal state
  --port N             the dev server's port (default 7233, or a free one when taken; 0: a free one)
  --ui-port N          the Web UI's port (default 8233, or a free one when taken; 0: a free one)
  -h, --help           this text

With ZENDESK_SUBDOMAIN and credentials in the environment it exports that account instead; with
TEMPORAL_ADDRESS it uses that Temporal instead of starting one. ZENDESK_EXPORT_DEMO_DIR moves the demo's
.temporal/ and export/ folders elsewhere (default: the project folder).`;

function port(flag: string, value: string | undefined): number {
  if (value === undefined || !/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new UserError(`${flag} takes a port number from 0 to 65535.`);
  return Number(value);
}

/** Reads the demo's flags; a mistake is one sentence (exit 2). */
export function parseDemoArgs(argv: readonly string[]): DemoOptions {
  const options: DemoOptions = { follow: false, fresh: false, port: 7233, uiPort: 8233, help: false };
  let follow: string | true | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    if (name === '--fresh') options.fresh = true;
    else if (name === '--follow') follow = inline ?? (/^\d+$/.test(argv[i + 1] ?? '') ? argv[++i]! : true);
    else if (name === '--port') options.port = port('--port', value());
    else if (name === '--ui-port') options.uiPort = port('--ui-port', value());
    else if (name === '-h' || name === '--help') options.help = true;
    else throw new UserError(`npm start does not know "${arg}": use --follow [seconds], --fresh, --port, --ui-port or --help.`);
  }
  options.follow = follow !== undefined;
  if (typeof follow === 'string') {
    const seconds = Number(follow);
    if (!/^\d+$/.test(follow) || seconds < 1 || seconds > MAX_FOLLOW_SECONDS) throw new UserError(`--follow takes a number of seconds from 1 to ${MAX_FOLLOW_SECONDS}.`);
    options.followSeconds = seconds;
  }
  return options;
}

/** Where the demo keeps its state: `.temporal/` (dev server, simulator end time) and `export/` (the records). */
export interface DemoPaths {
  home: string;
  temporalDir: string;
  database: string;
  outputRoot: string;
}

export function demoPaths(projectRoot: string, env: NodeJS.ProcessEnv = process.env): DemoPaths {
  const home = path.resolve(env.ZENDESK_EXPORT_DEMO_DIR || projectRoot);
  const temporalDir = path.join(home, '.temporal');
  return { home, temporalDir, database: path.join(temporalDir, 'dev.sqlite'), outputRoot: path.join(home, 'export') };
}
