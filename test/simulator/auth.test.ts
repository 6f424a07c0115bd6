/** API tokens, OAuth access tokens that expire, refresh tokens that rotate, and the refused password. */
import { startSimulator, seededRandom, DEFAULT_OAUTH, type Simulator } from '../../simulator';
import { Credentials } from '../../simulator/auth';
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

  clock += 299_000;
  expect((await get(users(), bearer)).status).toBe(200);
  clock += 2_000;
  const expired = await get(users(), bearer);
  expect(expired.status).toBe(401);
  expect(expired.json.error).toBe('invalid_token');
  expect(sim.stats()).toMatchObject({ tokensIssued: 2, tokensRefreshed: 2 });
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
