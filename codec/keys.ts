/**
 * The payload codec's keys, from the operator: ZENDESK_EXPORT_CODEC_KEYS (or the file
 * ZENDESK_EXPORT_CODEC_KEYS_FILE names), a list of `<id>=<key>` separated by commas or lines, each key
 * 32 bytes in base64 (AES-256). The first encodes; all decode, so keys rotate by putting a new one
 * first and keeping the old ones until no history needs them. No keys: no codec (payloads stay plain).
 */
import { readFileSync } from 'node:fs';

export interface CodecKey {
  /** Written in each payload's metadata, so a decoder knows which key to use; never secret. */
  id: string;
  key: Buffer;
}

/** The keys, newest (the one that encodes) first. */
export type CodecKeys = readonly [CodecKey, ...CodecKey[]];

/** Keys that cannot be used: one sentence, never quoting a key. */
export class CodecKeyError extends Error {
  override readonly name = 'CodecKeyError';
}

export const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Parses a list of `<id>=<base64 key>`; throws CodecKeyError naming the entry (by id or position) that is wrong. */
export function parseCodecKeys(text: string, source: string): CodecKeys {
  const entries = text.split(/[,\n]/).map((e) => e.trim()).filter((e) => e && !e.startsWith('#'));
  const keys: CodecKey[] = [];
  entries.forEach((entry, i) => {
    const eq = entry.indexOf('=');
    const id = eq > 0 ? entry.slice(0, eq).trim() : '';
    // A bare base64 key ends in "=": its text before the padding is no id, and nothing follows.
    if (!KEY_ID.test(id) || entry.slice(eq + 1).trim() === '') throw new CodecKeyError(`Entry ${i + 1} of ${source} is not <id>=<key> with an id of letters, digits, dots, dashes or underscores.`);
    const encoded = entry.slice(eq + 1).trim();
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== 32 || key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
      throw new CodecKeyError(`The key "${id}" in ${source} is not 32 bytes in base64 (make one with: openssl rand -base64 32).`);
    }
    if (keys.some((k) => k.id === id)) throw new CodecKeyError(`The key id "${id}" appears twice in ${source}.`);
    keys.push({ id, key });
  });
  if (keys.length === 0) throw new CodecKeyError(`${source} holds no key.`);
  return keys as unknown as CodecKeys;
}

/** The keys the environment names, or undefined when it names none (the codec is off). */
export function codecKeysFromEnv(env: Record<string, string | undefined>): CodecKeys | undefined {
  if (env.ZENDESK_EXPORT_CODEC_KEYS && env.ZENDESK_EXPORT_CODEC_KEYS_FILE) {
    throw new CodecKeyError('Set ZENDESK_EXPORT_CODEC_KEYS or ZENDESK_EXPORT_CODEC_KEYS_FILE, not both.');
  }
  if (env.ZENDESK_EXPORT_CODEC_KEYS) return parseCodecKeys(env.ZENDESK_EXPORT_CODEC_KEYS, 'ZENDESK_EXPORT_CODEC_KEYS');
  const file = env.ZENDESK_EXPORT_CODEC_KEYS_FILE;
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CodecKeyError(`Could not read ZENDESK_EXPORT_CODEC_KEYS_FILE (${file}): ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}.`);
  }
  return parseCodecKeys(text, 'ZENDESK_EXPORT_CODEC_KEYS_FILE');
}
