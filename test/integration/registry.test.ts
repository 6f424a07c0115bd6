/**
 * The account registry on a real PostgreSQL, against the real simulator: `accounts connect` end to end
 * (the CLI as a subprocess, PKCE through the simulator's authorization endpoint), sealed secrets, key
 * rotation, migrations run once by many at once, and refreshes shared safely by many registries (each
 * its own pool, as separate workers are) on a grant whose refresh tokens rotate, and a refresh that
 * outlives the worker killed while Zendesk answered it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { registryClients } from '../../accounts/clients';
import { keyring } from '../../accounts/keys';
import { openRegistry, type AccountRegistry } from '../../accounts/registry';
import { registryAuthProvider } from '../../accounts/registry-auth';
import { DEFAULT_OAUTH, startSimulator, type Simulator } from '../../simulator';
import { accountUrl } from '../../zendesk/account';
import { ZendeskConfigError, ZendeskReauthorizationError } from '../../zendesk/errors';
import { connectWithCli } from '../helpers/accounts';
import { runCli, type CliResult } from '../helpers/cli';
import { startPostgres, type PostgresServer } from '../helpers/postgres';
import { refreshersEnded, runningRefreshers } from '../helpers/refreshers';
import { spawnGroup } from '../../devserver/process';
import { fetchPagesWith } from '../../activities/fetch-pages';
import { postgresDestination } from '../../activities/destinations/postgres';
import type { BatchInput } from '../../contract/page-activity';
import { startPosition } from '../../zendesk/paging';

let pg: PostgresServer;
let sim: Simulator;
let dir: string;
const key = randomBytes(32);
const registries: AccountRegistry[] = [];
const TTL_SECONDS = 4;

beforeAll(async () => {
  pg = await startPostgres();
  sim = await startSimulator({ accounts: 10, sizes: { users: 5 }, rateLimits: 'off', recentWindowSeconds: 0, accessTokenTtlSeconds: TTL_SECONDS });
  dir = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-registry-'));
  writeFileSync(path.join(dir, 'key'), key.toString('base64'), { mode: 0o600 });
}, 60_000);
afterAll(async () => {
  await Promise.all(registries.map((r) => r.close()));
  await sim?.close();
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const open = (keys = [key]) => {
  const registry = openRegistry(pg.url, keyring(keys));
  registries.push(registry);
  return registry;
};
const baseUrl = () => `${sim.url}/accounts/{account}`;
const cliEnv = (extra: Record<string, string> = {}) => ({ ZENDESK_REGISTRY_URL: pg.url, ZENDESK_REGISTRY_KEY_FILE: path.join(dir, 'key'), ZENDESK_BASE_URL: baseUrl(), ...extra });
const cli = (args: string[], extra: Record<string, string> = {}): Promise<CliResult> => runCli(['accounts', ...args], cliEnv(extra), { cwd: dir });

/** Runs SQL on the registry's database. */
async function sql(text: string): Promise<void> {
  const client = new Client({ connectionString: pg.url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 10));
}

/** A stand-in worker (the built code): asks the registry, from its environment, to refresh account "eta"'s grant after a 401. */
const WORKER_REFRESHING = `
const { openRegistry } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/accounts/registry.js'))});
const { keyringFromEnv } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/accounts/keys.js'))});
const registry = openRegistry(process.env.ZENDESK_REGISTRY_URL, keyringFromEnv(process.env));
registry.grant('eta').then((grant) => registry.refresh('eta', grant.access.token));`;

/** Every value of every plain column, as text. */
async function plainColumns(): Promise<string> {
  const client = new Client({ connectionString: pg.url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT account, method, base_url, client_id, email, scope, status, key_id FROM zendesk_registry_accounts');
    return JSON.stringify(rows);
  } finally {
    await client.end();
  }
}

const connect = (account: string) => connectWithCli(account, cliEnv(), dir);

/** One batch of an account's users export into Postgres target "default", as a workflow schedules it. */
const USERS_BATCH = (account: string): BatchInput => ({
  target: {
    account,
    resource: 'users',
    options: {},
    destination: { kind: 'postgres', target: 'default' },
    exportId: `zendesk-export/${account}/users/users_cursor`,
    origin: '20260101T000000.000Z-users',
  },
  at: startPosition('users_cursor', { kind: 'cursor', startTime: 0, cursor: null }),
  firstPage: 1,
  maxRequests: 3,
});

test('accounts connect runs the authorization-code flow with PKCE and stores the grant, sealed', async () => {
  const connected = await connect('acme');
  expect(connected.stderr).toBe('');
  expect(connected.stdout).toMatch(/code_challenge_method=S256/);
  expect(connected.stdout).toMatch(/Connected acme/);
  expect(connected.code).toBe(0);

  const registry = open();
  const grant = await registry.grant('acme');
  expect(grant?.credentials).toMatchObject({ kind: 'oauth_refresh', clientId: DEFAULT_OAUTH.clientId, refreshToken: expect.stringMatching(/^sim-refresh-/) });
  expect(grant?.access?.token).toMatch(/^sim-access-/);
  // The stored access token works, and nothing secret is in a plain column or in `list`.
  const auth = registryAuthProvider(registry, grant!.row, accountUrl('acme', baseUrl()));
  expect((await fetch(`${sim.accountUrl('acme')}/api/v2/users/me`, { headers: { Authorization: await auth.authorization() } })).status).toBe(200);
  const listed = await runCli(['--json', 'accounts', 'list'], cliEnv(), { cwd: dir });
  expect(listed.code).toBe(0);
  const plain = `${await plainColumns()}${listed.stdout}`;
  for (const secret of ['sim-refresh', 'sim-access', DEFAULT_OAUTH.clientSecret]) expect(plain).not.toContain(secret);
  expect(JSON.parse(listed.stdout.split('\n')[0]!)).toMatchObject({ account: 'acme', method: 'oauth_refresh', status: 'active' });
}, 60_000);

test('accounts add takes secrets from the variables, warns about API tokens, and refuses a second add; remove removes', async () => {
  const added = await cli(['add', 'beta'], { ZENDESK_EMAIL: 'admin@example.com', ZENDESK_API_TOKEN: 'sim-token' });
  expect(added.code).toBe(0);
  expect(added.stderr).toMatch(/switches API tokens off on 2027-04-30/);
  expect(await plainColumns()).not.toContain('sim-token');
  const again = await cli(['add', 'beta'], { ZENDESK_EMAIL: 'admin@example.com', ZENDESK_API_TOKEN: 'sim-token' });
  expect(again).toMatchObject({ code: 2, stderr: expect.stringMatching(/^Account "beta" is already in the registry/) });
  expect(await cli(['add', 'gamma'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^No credentials to add/) });
  expect((await cli(['remove', 'beta'])).stdout).toMatch(/Removed beta/);
  expect(await cli(['remove', 'beta'])).toMatchObject({ code: 2, stderr: 'Account "beta" is not in the registry.\n' });
  expect(await cli(['list'], { ZENDESK_REGISTRY_KEY_FILE: path.join(dir, 'missing') })).toMatchObject({ code: 2, stderr: expect.stringMatching(/^Could not read ZENDESK_REGISTRY_KEY_FILE/) });
}, 60_000);

test('migrations run once when many start at once', async () => {
  const fresh = `${pg.url.replace(/\/[^/]*$/, '')}/fresh`;
  const admin = new Client({ connectionString: pg.url });
  await admin.connect();
  await admin.query('CREATE DATABASE fresh');
  const many = Array.from({ length: 6 }, () => openRegistry(fresh, keyring([key])));
  registries.push(...many);
  await Promise.all(many.map((r) => r.list()));
  const check = new Client({ connectionString: fresh });
  await check.connect();
  expect((await check.query('SELECT version FROM zendesk_registry_migrations')).rows).toEqual([{ version: 1 }]);
  await check.end();
  await admin.end();
});

test('many workers on one rotating grant with a short access-token life: one refresh at a time, no invalid_grant, the grant alive', async () => {
  await connect('delta');
  sim.resetStats();
  const workers = Array.from({ length: 5 }, () => open());
  const row = (await workers[0]!.list()).find((r) => r.account === 'delta')!;
  const providers = workers.map((r) => registryAuthProvider(r, row, accountUrl('delta', baseUrl())));
  // At least three token lives, and at least three refreshes (a busy machine starts refreshers slowly).
  const started = Date.now();
  const until = started + 3 * TTL_SECONDS * 1000;
  const going = () => Date.now() < until || sim.stats().tokensRefreshed < 3;
  let requests = 0;
  let failed = 0;
  const ask = async (authorization: string) => (await fetch(`${sim.accountUrl('delta')}/api/v2/users/me`, { headers: { Authorization: authorization } })).status;
  // Each worker asks as fast as it can. A request in flight while another worker refreshed carries a
  // token Zendesk just deleted: after its 401 it renews and asks once more, as the HTTP client does.
  await Promise.all(
    providers.map(async (auth) => {
      while (going()) {
        requests++;
        if ((await ask(await auth.authorization())) !== 401) continue;
        await auth.renew();
        if ((await ask(await auth.authorization())) !== 200) failed++;
      }
    }),
  );
  const stats = sim.stats();
  const lives = (Date.now() - started) / 1000 / TTL_SECONDS;
  // A token is renewed in the last 20-30% of its life: at most one refresh per 70% of a life across
  // all five, whatever the 401s (each found the new token in the registry instead of refreshing
  // again); five workers refreshing each on their own would make about five times as many.
  expect(stats.tokensRefreshed).toBeLessThanOrEqual(Math.ceil(lives / 0.7) + 1);
  expect(failed).toBe(0);
  expect(requests).toBeGreaterThan(50);
  // The grant is alive: one more refresh works.
  await expect(providers[0]!.renew()).resolves.toBe(true);
  expect((await workers[0]!.list()).find((r) => r.account === 'delta')?.status).toBe('active');
}, 60_000);

test('a grant revoked in Zendesk: the export fails with the sentence to reconnect, and the account is marked', async () => {
  await connect('epsilon');
  const registry = open();
  const grant = (await registry.grant('epsilon'))!;
  const auth = registryAuthProvider(registry, grant.row, accountUrl('epsilon', baseUrl()));
  await auth.authorization(); // The stored token, as a worker uses it before its 401.
  expect(sim.revokeGrant(grant.access!.token)).toBe(true);
  const err = await auth.renew().catch((e: unknown) => e as Error);
  expect(err).toBeInstanceOf(ZendeskReauthorizationError);
  expect((err as Error).message).toBe(
    'Account "epsilon" needs re-authorization: Zendesk no longer accepts its OAuth grant (revoked, or lost); an admin must run `zendesk-export accounts connect epsilon`.',
  );
  expect((await cli(['list'])).stdout).toMatch(/epsilon\s+oauth_refresh\s+needs-reauthorization/);
  // An export's next batch fails with that sentence, and the status analysts read in Postgres says so.
  const clients = registryClients(registry, {}, 0);
  const destination = postgresDestination({ name: 'default', url: pg.url });
  const batch = async () => {
    await clients.refresh();
    return fetchPagesWith({ clientFor: (a) => clients.clientFor(a), destinationFor: () => destination }, USERS_BATCH('epsilon'));
  };
  // README's query for the exports that need a person, as written there.
  const readme = readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');
  const needingAPerson = /```sql\n(-- Exports that need a person[\s\S]*?)```/.exec(readme)![1]!;
  const statusOf = async () => {
    const db = new Client({ connectionString: pg.url });
    await db.connect();
    try {
      const { rows } = await db.query(needingAPerson);
      const of = rows.filter((r) => r.account === 'epsilon' && r.resource === 'users').map((r) => ({ status: r.status, status_reason: r.status_reason }));
      return of.length ? of : (await db.query("SELECT status, status_reason FROM zendesk_export_status WHERE account = 'epsilon' AND resource = 'users'")).rows;
    } finally {
      await db.end();
    }
  };
  try {
    await expect(batch()).rejects.toMatchObject({ type: 'ZendeskReauthorizationError' });
    expect(await statusOf()).toEqual([{ status: 'needs-reauthorization', status_reason: expect.stringMatching(/^Account "epsilon" needs re-authorization: .*accounts connect epsilon/) }]);
    // Reconnected, it serves again, and its next page clears the status.
    await connect('epsilon');
    await clients.refresh();
    expect(() => clients.clientFor('epsilon')).not.toThrow();
    expect(await batch()).toMatchObject({ stop: 'end-of-stream', records: 5 });
    expect(await statusOf()).toEqual([{ status: 'caught-up', status_reason: null }]);
  } finally {
    await destination.close();
  }
}, 60_000);

test('Zendesk answered but the registry could not store the tokens: said precisely', async () => {
  await connect('zeta');
  const registry = open();
  // The database refuses the refresher's write of the rotated tokens, as a full disk would.
  await sql(`CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = '53100'; END $$;
    CREATE TRIGGER full_disk BEFORE UPDATE ON zendesk_registry_accounts FOR EACH ROW WHEN (NEW.refreshes > OLD.refreshes) EXECUTE FUNCTION full_disk()`);
  try {
    const auth = registryAuthProvider(registry, (await registry.grant('zeta'))!.row, accountUrl('zeta', baseUrl()));
    await auth.authorization();
    await expect(auth.renew()).rejects.toThrow(
      /^Zendesk issued new tokens for account "zeta", but storing them failed \(The account registry at .* failed: 53100 could not extend file\); if the write was lost/,
    );
  } finally {
    await sql('DROP TRIGGER full_disk ON zendesk_registry_accounts; DROP FUNCTION full_disk()');
  }
}, 60_000);

test('a worker killed while Zendesk answers its refresh: the refresher (no secret in its arguments or environment) outlives it, commits the rotated tokens and exits; the grant lives', async () => {
  await connect('eta');
  const registry = open();
  const before = (await registry.grant('eta'))!;
  const refused = sim.stats().refreshesRefused;
  // Zendesk's answer takes 2 s once the grant has rotated: the old refresh token is dead meanwhile.
  sim.setFaults({ tokenAnswerLatencyMs: 2000 });
  try {
    // A worker, as a process of its own group, asks for a refresh (as registryAuthProvider does after a
    // 401). Its secrets are in its environment, as a worker's are (the test server ignores the password).
    const secrets = { ZENDESK_REGISTRY_KEY: key.toString('base64'), PGPASSWORD: 'pg-password-of-the-worker', ZENDESK_API_TOKEN: 'api-token-of-the-worker' };
    const worker = spawnGroup(process.execPath, ['-e', WORKER_REFRESHING], { env: { ...process.env, ZENDESK_REGISTRY_URL: pg.url, ...secrets } });
    const rotated = sim.stats().tokensRefreshed;
    await until(() => sim.stats().tokensRefreshed > rotated);
    const refresher = runningRefreshers().find((r) => r.ppid === worker.pid);
    expect(refresher).toBeDefined();
    // Its secrets came on its stdin: neither its arguments nor its environment hold one.
    const shown = readFileSync(`/proc/${refresher!.pid}/cmdline`, 'utf8') + readFileSync(`/proc/${refresher!.pid}/environ`, 'utf8');
    for (const value of Object.values(secrets)) expect(shown).not.toContain(value);
    expect(shown).not.toContain(before.access!.token);
    await worker.stop({ signal: 'SIGKILL' }); // The whole group: the refresher is in a group of its own.
    expect(runningRefreshers().map((r) => r.pid)).toContain(refresher!.pid);
    await refreshersEnded();
  } finally {
    sim.setFaults({ tokenAnswerLatencyMs: 0 });
  }
  const after = (await registry.grant('eta'))!;
  expect(after.row).toMatchObject({ status: 'active', refreshes: before.row.refreshes + 1 });
  expect(after.access!.token).not.toBe(before.access!.token);
  expect((await fetch(`${sim.accountUrl('eta')}/api/v2/users/me`, { headers: { Authorization: `Bearer ${after.access!.token}` } })).status).toBe(200);
  // The committed refresh token is the live one: one more refresh works.
  const auth = registryAuthProvider(registry, after.row, accountUrl('eta', baseUrl()));
  await auth.authorization();
  await expect(auth.renew()).resolves.toBe(true);
  expect(sim.stats().refreshesRefused).toBe(refused);
}, 60_000);

test('a refused refresh token marks the account only while the registry still holds it (a reconnection meanwhile wins)', async () => {
  await connect('theta');
  const registry = open();
  const { credentials } = (await registry.grant('theta'))!;
  const held = (credentials as { refreshToken: string }).refreshToken;
  expect(await registry.markLost('theta', 'sim-refresh-spent-elsewhere')).toBe(false);
  expect((await registry.grant('theta'))!.row.status).toBe('active');
  expect(await registry.markLost('theta', held)).toBe(true);
  expect((await registry.grant('theta'))!.row.status).toBe('needs-reauthorization');
  await connect('theta'); // Connecting again clears it.
  expect((await registry.grant('theta'))!.row.status).toBe('active');
}, 60_000);

test('an account removed from the registry, or never in it, is refused at the next batch', async () => {
  const registry = open();
  const clients = registryClients(registry, {}, 0);
  await clients.refresh();
  expect(() => clients.clientFor('zeta')).not.toThrow();
  await registry.remove('zeta');
  await clients.refresh();
  expect(() => clients.clientFor('zeta')).toThrow(ZendeskConfigError);
  expect(() => clients.clientFor('stranger')).toThrow(/^Account "stranger" is not in the account registry at .*accounts connect stranger/);
});

test('rotate-key re-seals every secret with the new key; the old key can then be dropped', async () => {
  const next = randomBytes(32);
  writeFileSync(path.join(dir, 'keys'), `${next.toString('base64')}\n${key.toString('base64')}\n`, { mode: 0o600 });
  const rotated = await cli(['rotate-key'], { ZENDESK_REGISTRY_KEY_FILE: path.join(dir, 'keys') });
  expect(rotated.code).toBe(0);
  expect(rotated.stdout).toMatch(/^Re-sealed \d+ account\(s\) with key [0-9a-f]{16}/);
  const onlyNew = open([next]);
  expect((await onlyNew.grant('acme'))?.credentials.kind).toBe('oauth_refresh');
  await expect(open([key]).grant('acme')).rejects.toThrow(/sealed with key [0-9a-f]{16}, which ZENDESK_REGISTRY_KEY does not hold/);
});
