/**
 * An account's Authorization header from the registry, safe with many workers on one grant:
 * - the access token lives in the registry, so every worker uses the one a refresh stored;
 * - a refresh holds the account's row lock across the token request, so the fleet refreshes a grant
 *   once at a time; whoever waited on the lock finds the new token and uses it;
 * - the rotated refresh token is committed before its access token is used;
 * - a 401 first looks for a newer token in the registry, and refreshes only if there is none;
 * - each process renews at its own point in the last 20–30% of a token's life, not all at once;
 * - `invalid_grant` is judged under the lock, against the refresh token the registry holds then (not
 *   one another worker already rotated): the grant is lost, the account is marked as needing
 *   re-authorization, and its exports fail with one sentence saying how to reconnect it.
 */
import type { AccountUrl } from '../zendesk/account';
import { createAuthProvider, grantBody, oauthMethod, RefreshTokenRefusedError, requestOAuthToken, type AuthProvider, type IssuedToken } from '../zendesk/auth';
import { ZendeskAuthError, ZendeskConfigError, ZendeskTransientError } from '../zendesk/errors';
import type { AccessToken, AccountRegistry, AccountRow, Grant } from './registry';

/** The sentence an export of an account whose grant is lost fails with. */
export function reconnectMessage(account: string): string {
  return `Account "${account}" needs re-authorization: Zendesk no longer accepts its OAuth grant (revoked, or lost); an admin must run \`zendesk-export accounts connect ${account}\`.`;
}

export function notInRegistry(account: string, where: string): ZendeskConfigError {
  return new ZendeskConfigError(
    `Account "${account}" is not in the account registry at ${where}: add it with \`zendesk-export accounts connect ${account}\` (or \`accounts add\`).`,
  );
}

/** When this process renews a token: at its own point in the last 20–30% of the token's life. */
export function renewalPoint(access: AccessToken, jitter: number): number {
  return access.expiresAt - (access.expiresAt - access.issuedAt) * (0.2 + 0.1 * jitter);
}

export function registryAuthProvider(registry: AccountRegistry, row: AccountRow, url: AccountUrl, jitter = Math.random()): AuthProvider {
  const { account } = row;
  const usable = (grant: Grant | undefined): Grant => {
    if (!grant) throw notInRegistry(account, registry.where);
    if (grant.row.status === 'needs-reauthorization') throw new ZendeskAuthError(reconnectMessage(account));
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

  async function refreshLocked(stale: string | undefined): Promise<AccessToken> {
    let issued: IssuedToken | undefined;
    let refused = false;
    let fresh: AccessToken | undefined;
    try {
      fresh = await registry.withGrant(account, async (locked, save) => {
        const grant = usable(locked);
        // Another worker renewed while this one waited for the lock (or after this one's 401). A token
        // any process would renew soon is renewed now instead: a request retried after a 401 then never
        // meets a second refresh (and a second 401) before it is answered.
        if (grant.access && grant.access.token !== stale && Date.now() < renewalPoint(grant.access, 1)) return grant.access;
        const credentials = grant.credentials;
        if (credentials.kind !== 'oauth_refresh' && credentials.kind !== 'oauth_client_credentials') throw new ZendeskConfigError(`Account "${account}" changed its method; try again.`);
        try {
          issued = await requestOAuthToken(account, url, grantBody(credentials), method);
        } catch (err) {
          if (!(err instanceof RefreshTokenRefusedError)) throw err;
          refused = true;
          return undefined;
        }
        const next = { token: issued.accessToken, issuedAt: issued.issuedAt, expiresAt: issued.expiresAt };
        await save(next, issued.refreshToken);
        return next;
      });
    } catch (err) {
      if (!issued) throw err;
      // Zendesk rotated the grant, and the new tokens may not be stored: say exactly that.
      throw new ZendeskTransientError(
        `Zendesk issued new tokens for account "${account}", but storing them failed (${(err as Error).message.replace(/\.$/, '')}); ` +
          `if the write was lost, so is the grant, and the next attempt will say so.`,
      );
    }
    if (refused) {
      await registry.setStatus(account, 'needs-reauthorization');
      throw new ZendeskAuthError(reconnectMessage(account), 400);
    }
    if (!fresh) throw notInRegistry(account, registry.where);
    return fresh;
  }

  /** One refresh at a time in this process; the row lock makes it one across the fleet. */
  function refresh(stale: string | undefined): Promise<AccessToken> {
    inFlight ??= refreshLocked(stale).finally(() => (inFlight = undefined));
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
