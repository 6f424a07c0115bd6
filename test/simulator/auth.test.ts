/** API tokens, OAuth access tokens that expire, refresh tokens that rotate, and the refused password. */
import { startSimulator, seededRandom, DEFAULT_OAUTH, type Simulator } from '../../simulator';
import { Credentials, s256 } from '../../simulator/auth';
import { HttpError } from '../../simulator/errors';
import { BASIC, get, path, post } from './helpers';

let sim: Simulator;
let clock = 1_000_000_000_000;
beforeAll(async () => {
  sim = await startSimulator({
    sizes: { users: 5 }, endTime: 900_000_000, recentWindowSeconds: 0, rateLimits: 'off', accessTokenTtlSeconds: 300, now: () => clock,
    apiTokens: [{ email: 'admin@example.com', token: 'sim-token' }, { email: 'ops@example.com', token: 'second' }],
  });
});
afterAll(async () => {
  await sim?.close();
});

const users = () => path(sim, '/api/v2/incremental/users', { start_time: 0 });
const basic = (user: string, secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

test('API tokens: email/token:TOKEN is accepted; anything else is a 401 "Couldn\'t authenticate you"', async () => {
  expect((await get(users(), BASIC)).status).toBe(200);
  expect((await get(users(), basic('ops@example.com/token', 'second'))).status).toBe(200);
  for (const auth of [null, basic('admin@example.com/token', 'wrong'), basic('nobody@example.com/token', 'sim-token'), 'Bearer nope', 'Token sim-token']) {
    const reply = await get(users(), auth);
    expect(reply.status).toBe(401);
    expect(reply.json).toEqual({ error: "Couldn't authenticate you" });
  }
  expect(sim.stats().statuses[401]).toBe(5);
});

test('email and password is refused: Zendesk removed password access to the API', async () => {
  expect((await get(users(), basic('admin@example.com', 'sim-token'))).status).toBe(401);
});

test('refresh tokens rotate: each works once and brings a new one; access tokens expire', async () => {
  const first = await post(`${sim.url}/oauth/tokens`, { grant_type: 'refresh_token', refresh_token: DEFAULT_OAUTH.refreshToken, client_id: DEFAULT_OAUTH.clientId, client_secret: DEFAULT_OAUTH.clientSecret });
  expect(first.status).toBe(200);
  expect(first.json).toMatchObject({ access_token: expect.any(String), refresh_token: expect.any(String), token_type: 'bearer', expires_in: 300 });
  const bearer = `Bearer ${String(first.json.access_token)}`;
  expect((await get(users(), bearer)).status).toBe(200);

  // The old refresh token is dead now.
  const reused = await post(`${sim.url}/oauth/tokens`, { grant_type: 'refresh_token', refresh_token: DEFAULT_OAUTH.refreshToken, client_id: DEFAULT_OAUTH.clientId });
  expect(reused.status).toBe(400);
  expect(reused.json.error).toBe('invalid_grant');

  // A form body works as well, with the rotated token.
  const second = await post(`${sim.url}/oauth/tokens`, { grant_type: 'refresh_token', refresh_token: String(first.json.refresh_token), client_id: DEFAULT_OAUTH.clientId }, true);
  expect(second.status).toBe(200);
  expect(second.json.refresh_token).not.toBe(first.json.refresh_token);

  // As Zendesk does, the refresh deleted the grant's previous access token.
  expect((await get(users(), bearer)).status).toBe(401);
  const current = `Bearer ${String(second.json.access_token)}`;
  clock += 299_000;
  expect((await get(users(), current)).status).toBe(200);
  clock += 2_000;
  const expired = await get(users(), current);
  expect(expired.status).toBe(401);
  expect(expired.json.error).toBe('invalid_token');
  expect(sim.stats()).toMatchObject({ tokensIssued: 2, tokensRefreshed: 2, refreshesRefused: 1 });
});

test('client credentials: the secret must match; no refresh token comes back', async () => {
  const ok = await post(`${sim.url}/oauth/tokens`, { grant_type: 'client_credentials', client_id: DEFAULT_OAUTH.clientId, client_secret: DEFAULT_OAUTH.clientSecret });
  expect(ok.status).toBe(200);
  expect(ok.json).not.toHaveProperty('refresh_token');
  expect((await get(users(), `Bearer ${String(ok.json.access_token)}`)).status).toBe(200);
  const bad = await post(`${sim.url}/oauth/tokens`, { grant_type: 'client_credentials', client_id: DEFAULT_OAUTH.clientId, client_secret: 'wrong' });
  expect(bad.status).toBe(401);
  expect((await post(`${sim.url}/oauth/tokens`, { grant_type: 'client_credentials', client_id: 'other', client_secret: DEFAULT_OAUTH.clientSecret })).status).toBe(401);
  expect((await post(`${sim.url}/oauth/tokens`, { grant_type: 'password', client_id: DEFAULT_OAUTH.clientId })).json.error).toBe('unsupported_grant_type');
});

test('Credentials on its own (explicit clock, no server): tokens expire at their TTL, refresh tokens work once', () => {
  const credentials = new Credentials({ accessTokenTtlSeconds: 60, refreshToken: 'r0' }, seededRandom(1));
  const client = { client_id: DEFAULT_OAUTH.clientId, client_secret: DEFAULT_OAUTH.clientSecret };
  const first = credentials.grant({ ...client, grant_type: 'refresh_token', refresh_token: 'r0' }, 0);
  expect(first.refreshed).toBe(true);
  const bearer = `Bearer ${String(first.body.access_token)}`;
  expect(() => credentials.authenticate(bearer, 59_999)).not.toThrow();
  expect(() => credentials.authenticate(bearer, 60_000)).toThrow(HttpError);
  expect(() => credentials.grant({ ...client, grant_type: 'refresh_token', refresh_token: 'r0' }, 0)).toThrow(HttpError);
  expect(credentials.grant({ ...client, grant_type: 'refresh_token', refresh_token: String(first.body.refresh_token) }, 0).refreshed).toBe(true);
  expect(() => credentials.authenticate(BASIC, 0)).not.toThrow();
});

describe('the authorization-code flow with PKCE', () => {
  const verifier = 'v'.repeat(43);
  const redirectUri = 'http://127.0.0.1:9/callback';
  const authorize = (params: Record<string, string>) =>
    fetch(`${sim.url}/oauth/authorizations/new?${new URLSearchParams({ response_type: 'code', client_id: DEFAULT_OAUTH.clientId, redirect_uri: redirectUri, code_challenge: s256(verifier), code_challenge_method: 'S256', state: 'st', ...params })}`, { redirect: 'manual' });
  const exchange = (code: string, extra: Record<string, string> = {}) =>
    post(`${sim.url}/oauth/tokens`, { grant_type: 'authorization_code', code, client_id: DEFAULT_OAUTH.clientId, client_secret: DEFAULT_OAUTH.clientSecret, redirect_uri: redirectUri, code_verifier: verifier, ...extra });

  async function codeFrom(params: Record<string, string> = {}): Promise<URL> {
    const reply = await authorize(params);
    expect(reply.status).toBe(302);
    const location = new URL(reply.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(location.searchParams.get('state')).toBe('st');
    return location;
  }

  test('approves at once, and the code with its verifier brings a grant that rotates; the code works once', async () => {
    const code = (await codeFrom()).searchParams.get('code')!;
    const grant = await exchange(code);
    expect(grant.status).toBe(200);
    expect(grant.json).toMatchObject({ access_token: expect.any(String), refresh_token: expect.any(String) });
    expect((await get(users(), `Bearer ${String(grant.json.access_token)}`)).status).toBe(200);
    expect((await exchange(code)).json.error).toBe('invalid_grant');
    const refreshed = await post(`${sim.url}/oauth/tokens`, { grant_type: 'refresh_token', refresh_token: String(grant.json.refresh_token), client_id: DEFAULT_OAUTH.clientId });
    expect(refreshed.status).toBe(200);
    expect((await get(users(), `Bearer ${String(grant.json.access_token)}`)).status).toBe(401);
  });

  test('a wrong verifier, redirect URI or method is refused', async () => {
    expect((await exchange((await codeFrom()).searchParams.get('code')!, { code_verifier: 'w'.repeat(43) })).json.error).toBe('invalid_grant');
    expect((await exchange((await codeFrom()).searchParams.get('code')!, { redirect_uri: 'http://127.0.0.1:9/other' })).json.error).toBe('invalid_grant');
    expect((await codeFrom({ code_challenge_method: 'plain' })).searchParams.get('error')).toBe('invalid_request');
    expect((await codeFrom({ client_id: 'stranger' })).searchParams.get('error')).toBe('invalid_client');
  });

  test('a grant revoked by the admin refuses its refresh token and its access token', async () => {
    const grant = await exchange((await codeFrom()).searchParams.get('code')!);
    const revoked = await post(`${sim.url}/__sim/revoke-grant`, { token: String(grant.json.refresh_token) });
    expect(revoked.json).toEqual({ revoked: true });
    expect((await get(users(), `Bearer ${String(grant.json.access_token)}`)).status).toBe(401);
    const refused = await post(`${sim.url}/oauth/tokens`, { grant_type: 'refresh_token', refresh_token: String(grant.json.refresh_token), client_id: DEFAULT_OAUTH.clientId });
    expect(refused.json.error).toBe('invalid_grant');
  });
});
