/**
 * One refresh of an account's grant, as the refresher process runs it (refresher.ts), never a worker:
 * a worker killed between Zendesk's answer and the registry's commit would take the rotated refresh
 * token with it, and Zendesk has already deleted the old one. The refresher outlives its worker.
 *
 * Under the account's row lock, against the row as the lock finds it: a token another refresher stored
 * meanwhile is used instead (the fleet refreshes a grant once at a time); the rotated refresh token and
 * its access token are committed together before anyone uses them. A refused refresh (`invalid_grant`)
 * is judged again under the lock, after any refresh or reconnection in flight has committed: only if
 * the registry still holds the refused token is the grant lost and the account marked.
 */
import { accountUrl } from '../zendesk/account';
import { grantBody, oauthMethod, RefreshTokenRefusedError, requestOAuthToken } from '../zendesk/auth';
import { ZendeskAuthError, ZendeskConfigError } from '../zendesk/errors';
import type { AccessToken, AccountRegistry } from './registry';

/** What a refresh came to; the worker then reads the registry (nothing secret travels back). */
export type RefreshOutcome =
  /** A new access token is stored, by this refresher or another one before it. */
  | { outcome: 'stored' }
  /** Zendesk refused the grant the registry holds: the account is marked as needing re-authorization. */
  | { outcome: 'lost' }
  | { outcome: 'missing' }
  | { outcome: 'failed'; kind: 'auth' | 'config' | 'transient'; message: string };

/** When a worker renews a token: at its own point (`jitter`, 0 to 1) in the last 20–30% of the token's life. */
export function renewalPoint(access: AccessToken, jitter: number): number {
  return access.expiresAt - (access.expiresAt - access.issuedAt) * (0.2 + 0.1 * jitter);
}

/** A failure as the refresher reports it: its class by name, its sentence (which never holds a secret). */
export function failedWith(err: unknown): RefreshOutcome {
  const message = (err as Error).message ?? String(err);
  const kind = err instanceof ZendeskConfigError ? 'config' : err instanceof ZendeskAuthError ? 'auth' : 'transient';
  return { outcome: 'failed', kind, message };
}

/** Refreshes `account`'s grant unless the registry holds a token other than `stale` that is not due yet. */
export async function refreshUnderLock(registry: AccountRegistry, account: string, stale: string | undefined): Promise<RefreshOutcome> {
  let issued = false;
  let refused: string | undefined;
  let done: 'stored' | 'refused' | 'lost' | undefined;
  try {
    done = await registry.withGrant(account, async (grant, save) => {
      if (grant.row.status === 'needs-reauthorization') return 'lost';
      // Another refresher renewed while this one waited for the lock (or after the worker's 401). A
      // token any worker would renew soon is renewed now instead: a request retried after a 401 then
      // never meets a second refresh (and a second 401) before it is answered.
      if (grant.access && grant.access.token !== stale && Date.now() < renewalPoint(grant.access, 1)) return 'stored';
      const credentials = grant.credentials;
      if (credentials.kind !== 'oauth_refresh' && credentials.kind !== 'oauth_client_credentials') {
        throw new ZendeskConfigError(`Account "${account}" changed its method; try again.`);
      }
      let next;
      try {
        next = await requestOAuthToken(account, accountUrl(account, grant.row.baseUrl), grantBody(credentials), oauthMethod(credentials.kind));
      } catch (err) {
        if (!(err instanceof RefreshTokenRefusedError) || credentials.kind !== 'oauth_refresh') throw err;
        refused = credentials.refreshToken;
        return 'refused';
      }
      issued = true;
      await save({ token: next.accessToken, issuedAt: next.issuedAt, expiresAt: next.expiresAt }, next.refreshToken);
      return 'stored';
    });
  } catch (err) {
    if (!issued) return failedWith(err);
    // Zendesk rotated the grant, and the new tokens may not be stored: say exactly that.
    return failedWith(
      new Error(
        `Zendesk issued new tokens for account "${account}", but storing them failed (${(err as Error).message.replace(/\.$/, '')}); ` +
          `if the write was lost, so is the grant, and the next attempt will say so.`,
      ),
    );
  }
  if (done === undefined) return { outcome: 'missing' };
  if (done !== 'refused') return { outcome: done };
  try {
    // The lock is taken again: a reconnection (`accounts connect`) committing meanwhile is seen.
    return (await registry.markLost(account, refused!)) ? { outcome: 'lost' } : { outcome: 'stored' };
  } catch (err) {
    return failedWith(err);
  }
}
