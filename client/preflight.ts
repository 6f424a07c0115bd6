/**
 * Checks the CLI makes before it starts anything, so a wrong subdomain, a refused token or an output
 * folder nobody can write is one clear sentence now, not an export retrying for hours. The worker does
 * the real work and may run elsewhere: `--no-probe` skips these.
 */
import axios from 'axios';
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createAuthProvider, memoryTokenStore } from '../zendesk/auth';
import { accountConfig, type Env } from '../zendesk/credentials';
import { accountBaseUrl } from '../zendesk/http-client';
import type { Destination } from '../workflows/types';
import { UserError } from './request';

/**
 * One request for the current user: any answer proves Zendesk is reachable. With an API token or a
 * static OAuth token in this environment, a 401 or 403 proves the credentials wrong. Refresh tokens
 * are not tried: a refresh would rotate the worker's token.
 */
export async function probeZendesk(account: string, env: Env = process.env): Promise<void> {
  const url = accountBaseUrl(account, env.ZENDESK_BASE_URL);
  let auth: { method: string; header: string } | undefined;
  try {
    const { credentials } = accountConfig(account, env);
    if (credentials.kind === 'api_token' || credentials.kind === 'oauth_token') {
      const provider = createAuthProvider(account, url, credentials, memoryTokenStore());
      auth = { method: provider.method, header: await provider.authorization() };
    }
  } catch {
    // No credentials here (they may be the worker's alone): reachability only.
  }
  let status: number;
  try {
    const response = await axios.get(`${url}/api/v2/users/me.json`, {
      timeout: 10_000,
      validateStatus: () => true,
      maxRedirects: 0,
      headers: auth ? { Authorization: auth.header } : {},
    });
    status = response.status;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    throw new UserError(`Cannot reach Zendesk at ${url} (${e.code ?? e.message}): check the subdomain or ZENDESK_BASE_URL, or pass --no-probe if only the worker can reach it.`);
  }
  if (auth && (status === 401 || status === 403)) {
    throw new UserError(`Zendesk refused the credentials for account "${account}" (${auth.method}, HTTP ${status}): check them, or pass --no-probe if the worker has others.`);
  }
}

/** An NDJSON folder must exist or be creatable, and take a file. */
export async function checkOutputFolder(destination: Destination): Promise<void> {
  if (destination.kind !== 'ndjson') return;
  const probe = path.join(destination.dir, `.write-check-${randomUUID()}`);
  try {
    await fs.mkdir(destination.dir, { recursive: true });
    await fs.writeFile(probe, '');
    await fs.rm(probe);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError(`Cannot write to the output folder ${destination.dir} (${e.code ?? e.message}): choose another with --out.`);
  }
}
