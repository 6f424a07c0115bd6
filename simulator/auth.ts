/**
 * Credentials as Zendesk checks them: API tokens (`Basic base64(email/token:TOKEN)`), OAuth access
 * tokens that expire, refresh tokens that work once and rotate, and client credentials. Email and
 * password was removed from the API (2025-12-31), so it is refused.
 */
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
  /** Access token → expiry (epoch ms). */
  private readonly accessTokens = new Map<string, number>();
  private readonly refreshTokens: Set<string>;
  private issued = 0;

  constructor(
    options: CredentialOptions,
    private readonly random: () => number,
  ) {
    this.apiTokens = options.apiTokens ?? [DEFAULT_API_TOKEN];
    this.clients = options.oauthClients === undefined ? [DEFAULT_OAUTH] : [options.oauthClients].flat();
    this.ttlSeconds = options.accessTokenTtlSeconds ?? DEFAULT_OAUTH.accessTokenTtlSeconds;
    this.refreshTokens = new Set([options.refreshToken ?? DEFAULT_OAUTH.refreshToken]);
  }

  /** Throws the 401 Zendesk answers unless the Authorization header is good at `now` (epoch ms). */
  authenticate(header: string | undefined, now: number): void {
    if (!header) throw unauthenticated();
    const [scheme = '', value = ''] = header.split(/\s+/, 2);
    if (scheme.toLowerCase() === 'bearer') {
      const expires = this.accessTokens.get(value);
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
      // Each refresh token works once: Zendesk rotates them.
      if (typeof body.refresh_token !== 'string' || !this.refreshTokens.delete(body.refresh_token)) {
        throw new HttpError(400, { error: 'invalid_grant', error_description: 'The provided authorization grant is invalid, expired, or revoked.' });
      }
      return { body: this.issue(now, true), refreshed: true };
    }
    if (body.grant_type === 'client_credentials') {
      if (body.client_secret !== client.clientSecret) throw clientFailed();
      return { body: this.issue(now, false), refreshed: false };
    }
    throw new HttpError(400, { error: 'unsupported_grant_type', error_description: 'The authorization grant type is not supported.' });
  }

  private issue(now: number, withRefresh: boolean): Record<string, unknown> {
    const n = ++this.issued;
    const access = `sim-access-${n}-${this.nonce()}`;
    this.accessTokens.set(access, now + this.ttlSeconds * 1000);
    const out: Record<string, unknown> = { access_token: access, token_type: 'bearer', scope: 'read', expires_in: this.ttlSeconds };
    if (withRefresh) {
      const refresh = `sim-refresh-${n}-${this.nonce()}`;
      this.refreshTokens.add(refresh);
      Object.assign(out, { refresh_token: refresh, refresh_token_expires_in: REFRESH_TOKEN_TTL_SECONDS });
    }
    return out;
  }

  private nonce(): string {
    return Math.floor(this.random() * 1e9).toString(36);
  }
}
