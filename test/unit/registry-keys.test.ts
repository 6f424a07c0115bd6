/** The registry's sealing: AES-256-GCM under the first key, opened by any, bound to account and field. */
import { randomBytes } from 'node:crypto';
import { keyId, keyring, keyringFromEnv } from '../../accounts/keys';
import { renewalPoint } from '../../accounts/refresh';
import { ZendeskConfigError } from '../../zendesk/errors';

const SECRET = 'refresh-token-that-must-not-leak';
const [a, b] = [randomBytes(32), randomBytes(32)];

test('seals with the first key, carries its id, and never the plain text', () => {
  const sealed = keyring([a, b]).seal(SECRET, 'acme/secrets');
  expect(sealed.keyId).toBe(keyId(a));
  expect(Buffer.from(sealed.box, 'base64').toString('latin1')).not.toContain(SECRET);
  expect(keyring([b, a]).open(sealed, 'acme/secrets', 'secret')).toBe(SECRET);
  // Two seals of one value differ (a fresh IV each time).
  expect(keyring([a]).seal(SECRET, 'acme/secrets').box).not.toBe(sealed.box);
});

test('a value moved to another account or field, altered, or sealed with a key not held does not open', () => {
  const ring = keyring([a]);
  const sealed = ring.seal(SECRET, 'acme/secrets');
  expect(() => ring.open(sealed, 'globex/secrets', 'secret of account "globex"')).toThrow(/does not open with key .*: it was altered or moved/);
  expect(() => ring.open(sealed, 'acme/access', 'access token')).toThrow(ZendeskConfigError);
  const raw = Buffer.from(sealed.box, 'base64');
  raw[raw.length - 1]! ^= 1;
  expect(() => ring.open({ ...sealed, box: raw.toString('base64') }, 'acme/secrets', 'secret')).toThrow(/altered/);
  expect(() => keyring([b]).open(sealed, 'acme/secrets', 'secret')).toThrow(new RegExp(`sealed with key ${keyId(a)}, which ZENDESK_REGISTRY_KEY does not hold`));
});

test('keys from the environment: several, separated by lines; a wrong one is one sentence that does not quote it', () => {
  expect(keyringFromEnv({ ZENDESK_REGISTRY_KEY: `${a.toString('base64')}\n${b.toString('base64')}` }).currentId).toBe(keyId(a));
  expect(() => keyringFromEnv({})).toThrow(/needs its key: set ZENDESK_REGISTRY_KEY_FILE/);
  const short = randomBytes(16).toString('base64');
  const err = (() => {
    try {
      keyringFromEnv({ ZENDESK_REGISTRY_KEY: short });
    } catch (e) {
      return e as Error;
    }
  })();
  expect(err?.message).toMatch(/^Key 1 of ZENDESK_REGISTRY_KEY is not 32 bytes of base64/);
  expect(err?.message).not.toContain(short);
});

test('each process renews at its own point in the last 20-30% of a token life', () => {
  const token = { token: 't', issuedAt: 0, expiresAt: 1000 };
  expect(renewalPoint(token, 0)).toBe(800);
  expect(renewalPoint(token, 1)).toBe(700);
  expect(renewalPoint(token, 0.5)).toBe(750);
});
