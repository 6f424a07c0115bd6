/** The payload codec: keys from the operator, AES-256-GCM, and the data converter that uses them. */
import type { DataConverter } from '@temporalio/common';
import { AesGcmCodec } from './aes-gcm';
import type { CodecKeys } from './keys';

export { AesGcmCodec, CodecError, ENCRYPTED_ENCODING, KEY_ID_METADATA } from './aes-gcm';
export { codecKeysFromEnv, parseCodecKeys, CodecKeyError, type CodecKey, type CodecKeys } from './keys';

/** A data converter that encrypts every payload with `keys`, or the default one without keys. */
export function codecDataConverter(keys: CodecKeys | undefined): DataConverter | undefined {
  return keys ? { payloadCodecs: [new AesGcmCodec(keys)] } : undefined;
}
