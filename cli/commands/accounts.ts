/**
 * `accounts add | list | remove | connect | rotate-key`: the account registry, for admins. These talk
 * to the registry's database directly (ZENDESK_REGISTRY_URL, with the key in ZENDESK_REGISTRY_KEY_FILE),
 * never through Temporal: a client of the Temporal namespace can neither add an account nor read a secret.
 * Secrets come from the same variables (or `_FILE`s) as the worker's, never from flags, which `ps` shows.
 */
import type { Command } from 'commander';
import { destinationConfigFromEnv } from '../../activities/destinations';
import { UnavailableError, UserError } from '../../client/errors';
import { parseAccount } from '../../client/request';
import { connectAccount } from '../../accounts/connect';
import { keyringFromEnv } from '../../accounts/keys';
import { openRegistry, registryUrl, type AccountEntry, type AccountRegistry, type AccountSecrets } from '../../accounts/registry';
import { accountUrl } from '../../zendesk/account';
import { API_TOKEN_SHUTDOWN } from '../../zendesk/auth';
import { credentialsFromEnv, secret } from '../../zendesk/credentials';
import { ZendeskConfigError, ZendeskError } from '../../zendesk/errors';
import { print, type Globals } from '../context';

const REGISTRY_HELP = `
The registry is the PostgreSQL database in ZENDESK_REGISTRY_URL (a postgres:// URL with the password in
PGPASSWORD, or the name of a Postgres target such as "default"); its secrets are sealed with the key in
ZENDESK_REGISTRY_KEY_FILE (or ZENDESK_REGISTRY_KEY): base64 of 32 random bytes (openssl rand -base64 32).`;

async function withRegistry<T>(use: (registry: AccountRegistry) => Promise<T>): Promise<T> {
  const env = process.env;
  if (!env.ZENDESK_REGISTRY_URL) throw new UserError('Set ZENDESK_REGISTRY_URL to the account registry (a postgres:// URL, or the name of a Postgres target).');
  const registry = openRegistry(registryUrl(env.ZENDESK_REGISTRY_URL, destinationConfigFromEnv(env).postgres), keyringFromEnv(env));
  try {
    return await use(registry);
  } catch (err) {
    // The registry down, or Zendesk unreachable: one sentence, exit 2.
    if (err instanceof ZendeskError && !(err instanceof ZendeskConfigError)) throw new UnavailableError(err.message);
    throw err;
  } finally {
    await registry.close();
  }
}

function baseUrlOf(account: string, flag: string | undefined): string | undefined {
  const baseUrl = flag ?? process.env.ZENDESK_BASE_URL;
  accountUrl(account, baseUrl); // Refused now, not at the first export.
  return baseUrl || undefined;
}

export function register(program: Command, global: Globals): void {
  const accounts = program
    .command('accounts')
    .description('the account registry a fleet of workers shares: add, list, remove, connect (OAuth), rotate-key')
    .addHelpText('after', REGISTRY_HELP);

  accounts
    .command('add <subdomain>')
    .description('add an account with the credentials in ZENDESK_* variables (as the worker reads them): a refresh token, client credentials, an OAuth token or an API token')
    .option('--base-url <url>', 'where its API is (default: $ZENDESK_BASE_URL, else https://<subdomain>.zendesk.com)')
    .action(async (subdomain: string, flags: { baseUrl?: string }) => {
      const account = parseAccount(subdomain);
      const credentials = credentialsFromEnv(process.env);
      if (!credentials) {
        throw new UserError(
          'No credentials to add: set ZENDESK_OAUTH_CLIENT_ID with ZENDESK_OAUTH_REFRESH_TOKEN(_FILE) or ZENDESK_OAUTH_CLIENT_SECRET(_FILE), ZENDESK_OAUTH_TOKEN(_FILE), or ZENDESK_EMAIL with ZENDESK_API_TOKEN(_FILE); or use `accounts connect`.',
        );
      }
      if (credentials.kind === 'password') throw new UserError(`Email and password authentication was removed from Zendesk's API on 2025-12-31; use \`accounts connect ${account}\`.`);
      const entry: AccountEntry = { account, method: credentials.kind, baseUrl: baseUrlOf(account, flags.baseUrl) };
      const secrets: AccountSecrets = {};
      if (credentials.kind === 'api_token') {
        Object.assign(entry, { email: credentials.email });
        secrets.token = credentials.token;
      } else if (credentials.kind === 'oauth_token') secrets.token = credentials.accessToken;
      else {
        Object.assign(entry, { clientId: credentials.clientId, scope: credentials.kind === 'oauth_client_credentials' ? credentials.scope : undefined });
        Object.assign(secrets, { clientSecret: credentials.clientSecret, refreshToken: credentials.kind === 'oauth_refresh' ? credentials.refreshToken : undefined });
      }
      await withRegistry((r) => r.add(entry, secrets));
      if (entry.method === 'api_token') {
        process.stderr.write(`Zendesk switches API tokens off on ${API_TOKEN_SHUTDOWN}; connect the account with OAuth before then (accounts connect ${account}).\n`);
      }
      print(global().json ? JSON.stringify({ added: account, method: entry.method }) : `Added ${account} (${entry.method}); workers serve it within 10 seconds.`);
    });

  accounts
    .command('list')
    .description('the accounts, their method and status (never a secret)')
    .action(async () => {
      const rows = await withRegistry((r) => r.list());
      for (const row of rows) {
        const line = {
          account: row.account, method: row.method, status: row.status, baseUrl: row.baseUrl ?? null, clientId: row.clientId ?? null, email: row.email ?? null,
          keyId: row.keyId, accessExpiresAt: row.accessExpiresAt?.toISOString() ?? null, refreshes: row.refreshes, updatedAt: row.updatedAt.toISOString(),
        };
        if (global().json) print(JSON.stringify(line));
        else print(`${row.account.padEnd(24)} ${row.method.padEnd(24)} ${row.status.padEnd(22)} ${row.baseUrl ?? ''}`);
      }
      if (rows.length === 0 && !global().json) print('No accounts.');
    });

  accounts
    .command('remove <subdomain>')
    .description("remove an account: its running exports fail at their next batch (within 10 seconds)")
    .action(async (subdomain: string) => {
      const account = parseAccount(subdomain);
      if (!(await withRegistry((r) => r.remove(account)))) throw new UserError(`Account "${account}" is not in the registry.`);
      print(global().json ? JSON.stringify({ removed: account }) : `Removed ${account}; its running exports stop at their next batch.`);
    });

  accounts
    .command('connect <subdomain>')
    .description("connect an account with Zendesk's OAuth authorization-code flow (PKCE): open the URL printed, approve, and the grant is stored")
    .option('--client-id <id>', 'the OAuth client (default: $ZENDESK_OAUTH_CLIENT_ID); its secret, if any, from ZENDESK_OAUTH_CLIENT_SECRET(_FILE)')
    .option('--base-url <url>', 'where its API is (default: $ZENDESK_BASE_URL, else https://<subdomain>.zendesk.com)')
    .option('--port <port>', 'local port Zendesk redirects to: http://127.0.0.1:<port>/callback, as registered with the OAuth client', '8976')
    .option('--scope <scope>', 'scope to ask for', 'read')
    .option('--timeout <seconds>', 'how long to wait for the approval', '600')
    .action(async (subdomain: string, flags: { clientId?: string; baseUrl?: string; port: string; scope: string; timeout: string }) => {
      const account = parseAccount(subdomain);
      const clientId = flags.clientId ?? process.env.ZENDESK_OAUTH_CLIENT_ID;
      if (!clientId) throw new UserError('Name the OAuth client: --client-id or ZENDESK_OAUTH_CLIENT_ID.');
      const port = Number(flags.port);
      const timeout = Number(flags.timeout);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port takes a port number, not "${flags.port}".`);
      if (!(timeout > 0)) throw new UserError(`--timeout takes a number of seconds, not "${flags.timeout}".`);
      const baseUrl = baseUrlOf(account, flags.baseUrl);
      const clientSecret = secret(process.env, 'ZENDESK_OAUTH_CLIENT_SECRET');
      await withRegistry(async (registry) => {
        const issued = await connectAccount({
          account, url: accountUrl(account, baseUrl), clientId, clientSecret,
          scope: flags.scope, port, timeoutMs: timeout * 1000,
          onAuthorizationUrl: (url) => print(global().json ? JSON.stringify({ authorizationUrl: url }) : `Open this URL and approve the access:\n  ${url}`),
        });
        const access = { token: issued.accessToken, issuedAt: issued.issuedAt, expiresAt: issued.expiresAt };
        if (issued.refreshToken) {
          await registry.add({ account, method: 'oauth_refresh', baseUrl, clientId }, { refreshToken: issued.refreshToken, clientSecret }, { replace: true, access });
        } else {
          // A token without refresh (an OAuth client that issues non-expiring tokens): stored as it is.
          await registry.add({ account, method: 'oauth_token', baseUrl }, { token: issued.accessToken }, { replace: true });
        }
      });
      print(global().json ? JSON.stringify({ connected: account }) : `Connected ${account}; workers serve it within 10 seconds.`);
    });

  accounts
    .command('rotate-key')
    .description('re-seal every secret with the first key of ZENDESK_REGISTRY_KEY(_FILE); keep the old key after it until this is done')
    .action(async () => {
      const env = process.env;
      const resealed = await withRegistry((r) => r.rotateKey());
      const keyId = keyringFromEnv(env).currentId;
      print(global().json ? JSON.stringify({ resealed, keyId }) : `Re-sealed ${resealed} account(s) with key ${keyId}; the other keys may now be dropped.`);
    });
}

