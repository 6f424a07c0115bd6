/**
 * The payload codec: every payload the worker and its clients send through Temporal (workflow inputs
 * and results, activity inputs and results, heartbeats, memos, signals, queries) is encrypted with
 * AES-256-GCM, so the Temporal server, its database and anyone who reads a history without the key see
 * only `binary/encrypted` bytes. The whole payload (its metadata too) is the plaintext; the key id is
 * in the metadata and bound to the ciphertext as associated data. Payloads written before the codec
 * was on pass through decoding unchanged.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { CodecKeys } from './keys';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

/** A payload the codec cannot decode: one sentence, naming the key id and never a key or the data. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
}

export class AesGcmCodec implements PayloadCodec {
  constructor(private readonly keys: CodecKeys) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys[0];
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(id, 'utf8'));
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(id), [CIPHER_METADATA]: utf8(CIPHER) }, data: new Uint8Array(data) };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload; // Written before the codec was on.
      const id = text(payload.metadata?.[KEY_ID_METADATA]) ?? '';
      const key = this.keys.find((k) => k.id === id)?.key;
      if (!key) throw new CodecError(`A payload is encrypted with the key "${id.slice(0, 64)}", which this process does not have; add it to ZENDESK_EXPORT_CODEC_KEYS.`);
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) throw new CodecError(`A payload encrypted with the key "${id}" is too short to be one.`);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES)).setAAD(Buffer.from(id, 'utf8'));
        decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
        const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
        return temporal.api.common.v1.Payload.decode(plain) as Payload;
      } catch {
        throw new CodecError(`A payload encrypted with the key "${id}" could not be decrypted: it was altered, or the key with that id is not the one that encrypted it.`);
      }
    });
  }
}
