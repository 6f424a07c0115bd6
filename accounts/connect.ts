/**
 * Zendesk's OAuth authorization-code flow with PKCE (S256), for `accounts connect`: the admin opens the
 * authorization URL, approves, and Zendesk redirects the browser to a one-shot server on 127.0.0.1,
 * which takes the code; the code and its verifier are exchanged for a grant at `/oauth/tokens`.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestUrl, type AccountUrl } from '../zendesk/account';
import { requestOAuthToken, type IssuedToken } from '../zendesk/auth';
import { ZendeskAuthError, ZendeskConfigError } from '../zendesk/errors';

export interface ConnectOptions {
  account: string;
  url: AccountUrl;
  clientId: string;
  clientSecret?: string;
  scope: string;
  /** Local port for the redirect (registered with the OAuth client in Zendesk); 0 picks a free one. */
  port: number;
  /** Told the URL to open. */
  onAuthorizationUrl(url: string): void;
  /** How long to wait for the admin. */
  timeoutMs: number;
}

const base64url = (bytes: Buffer) => bytes.toString('base64url');

export async function connectAccount(options: ConnectOptions): Promise<IssuedToken> {
  const verifier = base64url(randomBytes(32));
  const challenge = base64url(createHash('sha256').update(verifier).digest());
  const state = base64url(randomBytes(16));
  let settle!: (outcome: { code?: string; error?: string }) => void;
  const answered = new Promise<{ code?: string; error?: string }>((resolve) => (settle = resolve));

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback') return void res.writeHead(404).end();
    // Only the redirect of this run carries its state: anything else is ignored.
    if (url.searchParams.get('state') !== state) return void res.writeHead(400).end('Unknown state.\n');
    const error = url.searchParams.get('error') ?? undefined;
    const code = url.searchParams.get('code') ?? undefined;
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(error ? 'Zendesk refused the authorization; see the terminal.\n' : 'Connected. You can close this page.\n');
    settle({ code, error });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new ZendeskConfigError(`Could not listen on 127.0.0.1:${options.port} for the redirect (${err.code ?? err.message}); choose another --port.`)));
    server.listen(options.port, '127.0.0.1', resolve);
  });
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  let timer: NodeJS.Timeout | undefined;
  try {
    const authorize = requestUrl(options.url, '/oauth/authorizations/new', {
      response_type: 'code',
      client_id: options.clientId,
      redirect_uri: redirectUri,
      scope: options.scope,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    options.onAuthorizationUrl(authorize.href);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ZendeskConfigError(`No authorization arrived within ${Math.round(options.timeoutMs / 1000)} seconds; run the command again.`)), options.timeoutMs);
    });
    const { code, error } = await Promise.race([answered, timeout]);
    if (error || !code) throw new ZendeskAuthError(`Zendesk did not authorize account "${options.account}" (${(error ?? 'no code').slice(0, 60)}).`);
    const body: Record<string, string> = { grant_type: 'authorization_code', code, client_id: options.clientId, redirect_uri: redirectUri, code_verifier: verifier, scope: options.scope };
    if (options.clientSecret) body.client_secret = options.clientSecret;
    return await requestOAuthToken(options.account, options.url, body, 'OAuth authorization code');
  } finally {
    clearTimeout(timer);
    server.closeAllConnections();
    server.close();
  }
}
