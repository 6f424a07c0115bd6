/**
 * Credentials as Zendesk checks them: API tokens (`Basic base64(email/token:TOKEN)`), OAuth access
 * tokens that expire, refresh tokens that work once and rotate, and client credentials. Email and
 * password was removed from the API (2025-12-31), so it is refused.
 *
 * A grant (from the starting refresh token, or from the authorization-code flow with PKCE) holds one
 * refresh token and the access tokens issued from it. As Zendesk does, a refresh deletes the grant's
 * previous access and refresh tokens: whoever still carries one gets a 401 or `invalid_grant`.
 */
import { createHash } from 'node:crypto';
import { HttpError, unauthenticated } from './errors';

export interface ApiToken {
  email: string;
  token: string;
}

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
}

export const DEFAULT_API_TOKEN = { email: 'admin@example.com', token: 'sim-token' } as const;
export const DEFAULT_OAUTH = { clientId: 'sim-client', clientSecret: 'sim-secret', refreshToken: 'sim-refresh-token', accessTokenTtlSeconds: 1800 } as const;

export interface CredentialOptions {
  apiTokens?: ApiToken[];
  oauthClients?: OAuthClient | OAuthClient[];
  refreshToken?: string;
  accessTokenTtlSeconds?: number;
}

/** A code from the authorization endpoint, waiting to be exchanged (once) for a grant. */
interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  expiresAt: number;
}

const CODE_TTL_MS = 10 * 60_000;

/** What a grant at the token endpoint gave. */
export interface Grant {
  body: Record<string, unknown>;
  /** A refresh token was spent (and a new one issued). */
  refreshed: boolean;
}

const REFRESH_TOKEN_TTL_SECONDS = 30 * 86_400;

export class Credentials {
  private readonly apiTokens: readonly ApiToken[];
  private readonly clients: readonly OAuthClient[];
  private readonly ttlSeconds: number;
  /** Access token → its expiry (epoch ms) and grant (undefined for client credentials). */
  private readonly accessTokens = new Map<string, { expiresAt: number; grant?: number }>();
  /** Refresh token → its grant. */
  private readonly refreshTokens = new Map<string, number>();
  private readonly codes = new Map<string, PendingCode>();
  private issued = 0;
  private grants = 0;

  constructor(
    options: CredentialOptions,
    private readonly random: () => number,
  ) {
    this.apiTokens = options.apiTokens ?? [DEFAULT_API_TOKEN];
    this.clients = options.oauthClients === undefined ? [DEFAULT_OAUTH] : [options.oauthClients].flat();
    this.ttlSeconds = options.accessTokenTtlSeconds ?? DEFAULT_OAUTH.accessTokenTtlSeconds;
    this.refreshTokens.set(options.refreshToken ?? DEFAULT_OAUTH.refreshToken, ++this.grants);
  }

  /** Throws the 401 Zendesk answers unless the Authorization header is good at `now` (epoch ms). */
  authenticate(header: string | undefined, now: number): void {
    if (!header) throw unauthenticated();
    const [scheme = '', value = ''] = header.split(/\s+/, 2);
    if (scheme.toLowerCase() === 'bearer') {
      const expires = this.accessTokens.get(value)?.expiresAt;
      if (expires === undefined) throw unauthenticated();
      if (expires <= now) {
        throw new HttpError(401, { error: 'invalid_token', error_description: 'The access token provided is expired, revoked, malformed or invalid for other reasons.' });
      }
      return;
    }
    if (scheme.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = decoded.slice(0, colon);
      const secret = decoded.slice(colon + 1);
      if (colon > 0 && user.endsWith('/token') && this.apiTokens.some((t) => t.email === user.slice(0, -6) && t.token === secret)) return;
    }
    throw unauthenticated();
  }

  /** `POST /oauth/tokens` with grant_type refresh_token or client_credentials. */
  grant(body: Record<string, unknown>, now: number): Grant {
    const clientFailed = () => new HttpError(401, { error: 'invalid_client', error_description: 'Client authentication failed.' });
    const client = this.clients.find((c) => c.clientId === body.client_id);
    if (!client || (body.client_secret !== undefined && body.client_secret !== client.clientSecret)) throw clientFailed();
    if (body.grant_type === 'refresh_token') {
      // Each refresh token works once: Zendesk rotates them, and deletes the grant's access tokens too.
      const grant = typeof body.refresh_token === 'string' ? this.refreshTokens.get(body.refresh_token) : undefined;
      if (grant === undefined) throw invalidGrant();
      this.revokeGrant(grant);
      return { body: this.issue(now, grant), refreshed: true };
    }
    if (body.grant_type === 'authorization_code') {
      const pending = typeof body.code === 'string' ? this.codes.get(body.code) : undefined;
      if (pending) this.codes.delete(body.code as string); // A code works once, right or wrong.
      if (!pending || pending.expiresAt <= now || pending.clientId !== client.clientId || pending.redirectUri !== body.redirect_uri) throw invalidGrant();
      if (typeof body.code_verifier !== 'string' || s256(body.code_verifier) !== pending.challenge) {
        throw new HttpError(400, { error: 'invalid_grant', error_description: 'The code verifier does not match the code challenge.' });
      }
      return { body: this.issue(now, ++this.grants), refreshed: false };
    }
    if (body.grant_type === 'client_credentials') {
      if (body.client_secret !== client.clientSecret) throw clientFailed();
      return { body: this.issue(now), refreshed: false };
    }
    throw new HttpError(400, { error: 'unsupported_grant_type', error_description: 'The authorization grant type is not supported.' });
  }

  /**
   * `GET /oauth/authorizations/new`: the admin approves at once. Returns where to redirect the browser:
   * `redirect_uri` with a code (or with `error`, as OAuth does, when the request is wrong but the redirect is known).
   */
  authorize(query: URLSearchParams, now: number): string {
    const redirectUri = query.get('redirect_uri') ?? '';
    let redirect: URL;
    try {
      redirect = new URL(redirectUri);
    } catch {
      throw new HttpError(400, { error: 'invalid_request', error_description: 'redirect_uri is missing or not a URL.' });
    }
    const state = query.get('state');
    if (state !== null) redirect.searchParams.set('state', state);
    const challenge = query.get('code_challenge') ?? '';
    const clientId = query.get('client_id') ?? '';
    if (!this.clients.some((c) => c.clientId === clientId)) redirect.searchParams.set('error', 'invalid_client');
    else if (query.get('response_type') !== 'code') redirect.searchParams.set('error', 'unsupported_response_type');
    else if (query.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) redirect.searchParams.set('error', 'invalid_request');
    else {
      const code = `sim-code-${++this.issued}-${this.nonce()}`;
      this.codes.set(code, { clientId, redirectUri, challenge, expiresAt: now + CODE_TTL_MS });
      redirect.searchParams.set('code', code);
    }
    return redirect.href;
  }

  /** Revokes the grant a refresh or access token belongs to, as an admin does in Zendesk; false if none. */
  revoke(token: string): boolean {
    const grant = this.refreshTokens.get(token) ?? this.accessTokens.get(token)?.grant;
    if (grant === undefined) return false;
    this.revokeGrant(grant);
    return true;
  }

  private revokeGrant(grant: number): void {
    for (const [token, g] of this.refreshTokens) if (g === grant) this.refreshTokens.delete(token);
    for (const [token, a] of this.accessTokens) if (a.grant === grant) this.accessTokens.delete(token);
  }

  private issue(now: number, grant?: number): Record<string, unknown> {
    const n = ++this.issued;
    const access = `sim-access-${n}-${this.nonce()}`;
    this.accessTokens.set(access, { expiresAt: now + this.ttlSeconds * 1000, grant });
    const out: Record<string, unknown> = { access_token: access, token_type: 'bearer', scope: 'read', expires_in: this.ttlSeconds };
    if (grant !== undefined) {
      const refresh = `sim-refresh-${n}-${this.nonce()}`;
      this.refreshTokens.set(refresh, grant);
      Object.assign(out, { refresh_token: refresh, refresh_token_expires_in: REFRESH_TOKEN_TTL_SECONDS });
    }
    return out;
  }

  private nonce(): string {
    return Math.floor(this.random() * 1e9).toString(36);
  }
}

const invalidGrant = () => new HttpError(400, { error: 'invalid_grant', error_description: 'The provided authorization grant is invalid, expired, or revoked.' });

/** PKCE's S256: base64url(sha256(verifier)). */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}
