/**
 * An account's Authorization header from the registry, safe with many workers on one grant:
 * - the access token lives in the registry, so every worker uses the one a refresh stored;
 * - a refresh runs in a refresher process that outlives the worker (refresh.ts, refresher.ts) and holds
 *   the account's row lock across the token request, so the fleet refreshes a grant once at a time;
 *   whoever waited on the lock finds the new token and uses it;
 * - the rotated refresh token is committed before its access token is used;
 * - a 401 first looks for a newer token in the registry, and refreshes only if there is none;
 * - each process renews at its own point in the last 20–30% of a token's life, not all at once;
 * - `invalid_grant` is judged under the lock, against the refresh token the registry holds then (not
 *   one another worker already rotated): the grant is lost, the account is marked as needing
 *   re-authorization, and its exports fail with one sentence saying how to reconnect it.
 */
import type { AccountUrl } from '../zendesk/account';
import { createAuthProvider, oauthMethod, type AuthProvider } from '../zendesk/auth';
import { ZendeskAuthError, ZendeskConfigError, ZendeskReauthorizationError, ZendeskTransientError } from '../zendesk/errors';
import { renewalPoint, type RefreshOutcome } from './refresh';
import type { AccessToken, AccountRegistry, AccountRow, Grant } from './registry';

/** What an export of an account whose grant is lost fails with: one sentence saying how to reconnect it. */
export function needsReauthorization(account: string): ZendeskReauthorizationError {
  return new ZendeskReauthorizationError(
    `Account "${account}" needs re-authorization: Zendesk no longer accepts its OAuth grant (revoked, or lost); an admin must run \`zendesk-export accounts connect ${account}\`.`,
  );
}

export function notInRegistry(account: string, where: string): ZendeskConfigError {
  return new ZendeskConfigError(
    `Account "${account}" is not in the account registry at ${where}: add it with \`zendesk-export accounts connect ${account}\` (or \`accounts add\`).`,
  );
}

export function registryAuthProvider(registry: AccountRegistry, row: AccountRow, url: AccountUrl, jitter = Math.random()): AuthProvider {
  const { account } = row;
  const usable = (grant: Grant | undefined): Grant => {
    if (!grant) throw notInRegistry(account, registry.where);
    if (grant.row.status === 'needs-reauthorization') throw needsReauthorization(account);
    return grant;
  };

  if (row.method === 'api_token' || row.method === 'oauth_token') {
    let inner: AuthProvider | undefined;
    return {
      method: row.method === 'api_token' ? `API token of ${row.email ?? ''}` : 'OAuth access token',
      async authorization() {
        inner ??= createAuthProvider(account, url, usable(await registry.grant(account)).credentials);
        return inner.authorization();
      },
      renew: async () => false,
    };
  }

  const method = oauthMethod(row.method);
  const due = (a: AccessToken) => Date.now() >= renewalPoint(a, jitter);
  let access: AccessToken | undefined;
  let inFlight: Promise<AccessToken> | undefined;

  /** The refresher's outcome, then the token it stored, read from the registry. */
  async function refreshDetached(stale: string | undefined): Promise<AccessToken> {
    const result: RefreshOutcome = await registry.refresh(account, stale);
    if (result.outcome === 'lost') throw needsReauthorization(account);
    if (result.outcome === 'missing') throw notInRegistry(account, registry.where);
    if (result.outcome === 'failed') {
      const Failure = { auth: ZendeskAuthError, config: ZendeskConfigError, transient: ZendeskTransientError }[result.kind];
      throw new Failure(result.message);
    }
    const fresh = usable(await registry.grant(account)).access;
    if (!fresh) throw new ZendeskTransientError(`The token refresher of account "${account}" stored no access token; the next attempt refreshes again.`);
    return fresh;
  }

  /** One refresh at a time in this process; the row lock makes it one across the fleet. */
  function refresh(stale: string | undefined): Promise<AccessToken> {
    inFlight ??= refreshDetached(stale).finally(() => (inFlight = undefined));
    return inFlight;
  }

  return {
    method,
    async authorization() {
      if (!access || due(access)) {
        const stored = usable(await registry.grant(account)).access;
        access = stored && !due(stored) ? stored : await refresh(stored?.token);
      }
      return `Bearer ${access.token}`;
    },
    async renew() {
      const stale = access?.token;
      access = undefined;
      access = await refresh(stale);
      return true;
    },
  };
}
