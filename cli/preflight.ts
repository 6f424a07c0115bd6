/**
 * Checks the CLI makes before it starts anything, so a wrong subdomain, a refused token or an output
 * folder nobody can write is one clear sentence now, not an export retrying for hours. The worker does
 * the real work and may run elsewhere: `--no-probe` skips these.
 */
import axios from 'axios';
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DestinationRef } from '../contract/page-activity';
import { destinationConfigFromEnv, DestinationConfigError } from '../activities/destinations';
import { makeFolder, resolveOutputFolder } from '../activities/destinations/ndjson';
import { UserError } from '../client/errors';
import { accountUrl, describeAccountUrl, requestUrl } from '../zendesk/account';
import { createAuthProvider, memoryTokenStore } from '../zendesk/auth';
import { accountConfig, type Env } from '../zendesk/credentials';

/**
 * One request for the current user. Zendesk answers it with JSON about a user, even without
 * credentials; anything else (a redirect, an HTML page) is not Zendesk. With an API token or a static
 * OAuth token in this environment, a 401 or 403 proves the credentials wrong. Refresh tokens are not
 * tried: a refresh would rotate the worker's token.
 */
export async function probeZendesk(account: string, env: Env = process.env): Promise<void> {
  let base;
  let auth: { method: string; header: string } | undefined;
  try {
    // Credentials here that name no account are taken as the --account's, which is what they were given with.
    const bound = env.ZENDESK_SUBDOMAIN || env.ZENDESK_ACCOUNTS ? env : { ...env, ZENDESK_SUBDOMAIN: account };
    const config = accountConfig(account, bound);
    base = accountUrl(account, config.baseUrl);
    if (config.credentials.kind === 'api_token' || config.credentials.kind === 'oauth_token') {
      const provider = createAuthProvider(account, base, config.credentials, memoryTokenStore());
      auth = { method: provider.method, header: await provider.authorization() };
    }
  } catch {
    // No credentials here for this account (they may be the worker's alone): reachability only.
    base = accountUrl(account, env.ZENDESK_BASE_URL);
  }
  const where = describeAccountUrl(base);
  let response;
  try {
    response = await axios.get(requestUrl(base, '/api/v2/users/me.json').href, {
      timeout: 10_000,
      validateStatus: () => true,
      maxRedirects: 0,
      maxContentLength: 1024 * 1024,
      responseType: 'text',
      transformResponse: (d: unknown) => d,
      headers: { Accept: 'application/json', ...(auth ? { Authorization: auth.header } : {}) },
    });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    throw new UserError(`Cannot reach Zendesk at ${where} (${e.code ?? 'no answer'}): check the subdomain or ZENDESK_BASE_URL, or pass --no-probe if only the worker can reach it.`);
  }
  if (auth && (response.status === 401 || response.status === 403)) {
    throw new UserError(`Zendesk refused the credentials for account "${account}" (${auth.method}, HTTP ${response.status}): check them, or pass --no-probe if the worker has others.`);
  }
  if (!(response.status === 401 || response.status === 403) && !answersLikeZendesk(response.status, String(response.data ?? ''))) {
    throw new UserError(`${where} does not answer like Zendesk (HTTP ${response.status}): check the subdomain or ZENDESK_BASE_URL, or pass --no-probe.`);
  }
}

function answersLikeZendesk(status: number, body: string): boolean {
  if (status !== 200) return false;
  try {
    const parsed = JSON.parse(body) as { user?: unknown };
    return !!parsed && typeof parsed.user === 'object' && parsed.user !== null;
  } catch {
    return false;
  }
}

/** File systems that hold no files of anyone's: kernel and device views. */
const VIRTUAL_ROOTS = ['/proc', '/sys', '/dev'];

/**
 * A folder on a virtual file system is never an output folder, on any machine: refused at once, with
 * or without the other checks (writing there can hang or fail in odd ways rather than say no).
 */
export function checkOutputPath(destination: DestinationRef): void {
  if (destination.kind !== 'ndjson') return;
  const virtual = VIRTUAL_ROOTS.find((root) => destination.dir === root || destination.dir.startsWith(`${root}/`));
  if (virtual) throw new UserError(`The output folder ${destination.dir} is on ${virtual}, which holds no files: choose another with --out.`);
}

/**
 * An NDJSON folder must lie inside the output root (the worker's, when it shares this machine's
 * ZENDESK_EXPORT_OUTPUT_ROOT and working folder), and exist or be creatable, and take a file.
 */
export async function checkOutputFolder(destination: DestinationRef, env: Env = process.env): Promise<void> {
  if (destination.kind !== 'ndjson') return;
  let folder: string;
  let root: string | undefined;
  try {
    root = destinationConfigFromEnv(env).outputRoot;
    folder = resolveOutputFolder(root, destination.dir);
  } catch (err) {
    if (!(err instanceof DestinationConfigError)) throw err;
    if (root === undefined) throw new UserError(err.message);
    throw new UserError(
      `The output folder ${path.resolve(destination.dir)} is outside the output root ${root}: choose a folder inside it, ` +
        `or run the worker with --output-root (ZENDESK_EXPORT_OUTPUT_ROOT here too) around it, or pass --no-probe if the worker's root differs.`,
    );
  }
  const probe = path.join(folder, `.write-check-${randomUUID()}`);
  try {
    await makeFolder(folder);
    await fs.writeFile(probe, '');
    await fs.rm(probe);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError(`Cannot write to the output folder ${folder} (${e.code ?? e.message}): choose another with --out.`);
  }
}
