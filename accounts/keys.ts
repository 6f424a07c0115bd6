/**
 * The account registry's secrets, sealed with AES-256-GCM (node:crypto). The keys come from
 * ZENDESK_REGISTRY_KEY or the file named by ZENDESK_REGISTRY_KEY_FILE, which only workers and admins
 * hold: one or more base64 256-bit keys, separated by spaces, commas or lines. The first seals; all
 * open, so that after a new key is put first, `accounts rotate-key` re-seals every secret with it.
 *
 * Each sealed value carries its key's id (a fingerprint, not the key) and is bound to its account and
 * field (the GCM additional data), so a value copied to another row or column does not open.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { secret, type Env } from '../zendesk/credentials';
import { ZendeskConfigError } from '../zendesk/errors';

export interface Sealed {
  keyId: string;
  /** base64 of IV (12 bytes), tag (16 bytes) and ciphertext. */
  box: string;
}

export interface Keyring {
  /** The id of the key that seals. */
  readonly currentId: string;
  seal(plain: string, boundTo: string): Sealed;
  /** Throws ZendeskConfigError, naming `what` and never the value, for an unknown key or a value that does not open. */
  open(sealed: Sealed, boundTo: string, what: string): string;
  /** The keys as ZENDESK_REGISTRY_KEY holds them: only for the refresher process's stdin (refresher.ts). */
  text(): string;
}

export const KEY_HINT = 'set ZENDESK_REGISTRY_KEY_FILE (or ZENDESK_REGISTRY_KEY) to a base64 256-bit key, e.g. from `openssl rand -base64 32`';

/** A key's id: the first 16 hex digits of its SHA-256, enough to tell keys apart and useless to open anything. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export function keyringFromEnv(env: Env): Keyring {
  const text = secret(env, 'ZENDESK_REGISTRY_KEY');
  if (!text) throw new ZendeskConfigError(`The account registry needs its key: ${KEY_HINT}.`);
  return keyringFromText(text);
}

/** One or more base64 256-bit keys, separated by spaces, commas or lines; the first seals. */
export function keyringFromText(text: string): Keyring {
  const keys = text.split(/[\s,]+/).filter(Boolean).map((k, i) => {
    const key = Buffer.from(k, 'base64');
    if (key.length !== 32) throw new ZendeskConfigError(`Key ${i + 1} of ZENDESK_REGISTRY_KEY is not 32 bytes of base64: ${KEY_HINT}.`);
    return key;
  });
  return keyring(keys);
}

export function keyring(keys: Buffer[]): Keyring {
  const byId = new Map(keys.map((k) => [keyId(k), k]));
  const current = keys[0]!;
  const currentId = keyId(current);
  return {
    currentId,
    text: () => keys.map((k) => k.toString('base64')).join('\n'),
    seal(plain, boundTo) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      cipher.setAAD(Buffer.from(boundTo));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return { keyId: currentId, box: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64') };
    },
    open(sealed, boundTo, what) {
      const key = byId.get(sealed.keyId);
      if (!key) {
        throw new ZendeskConfigError(`The ${what} is sealed with key ${sealed.keyId}, which ZENDESK_REGISTRY_KEY does not hold; add that key after the current one.`);
      }
      const raw = Buffer.from(sealed.box, 'base64');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAAD(Buffer.from(boundTo));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      } catch {
        throw new ZendeskConfigError(`The ${what} does not open with key ${sealed.keyId}: it was altered or moved from another account.`);
      }
    },
  };
}
