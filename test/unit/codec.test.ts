/** The payload codec (AES-256-GCM, key ids, rotation) and the codec server's endpoints, on a free local port. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { AesGcmCodec, codecKeysFromEnv, ENCRYPTED_ENCODING, parseCodecKeys, type CodecKeys } from '../../codec';
import { startCodecServer, type CodecServer } from '../../codec/server';

const newKey = () => randomBytes(32).toString('base64');
const keysOf = (text: string): CodecKeys => parseCodecKeys(text, 'the test keys');
const payload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const valueOf = (p: Payload) => defaultPayloadConverter.fromPayload(p);
const SECRET_VALUE = { account: 'acme', cursor: 'MTU4NjQ0NDk3MS4wfHwxNjF8', error: 'Zendesk said: ticket 4711 of jane@example.com' };

describe('the codec', () => {
  const [k1, k2] = [newKey(), newKey()];

  it('encrypts a payload so that none of it reads, with the key id in its metadata, and decrypts it whole', async () => {
    const codec = new AesGcmCodec(keysOf(`2026-12=${k1}`));
    const [encrypted] = await codec.encode([payload(SECRET_VALUE)]);
    expect(Buffer.from(encrypted!.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(encrypted!.metadata!['encryption-key-id']!).toString()).toBe('2026-12');
    const raw = Buffer.from(encrypted!.data!).toString('latin1');
    for (const word of ['acme', 'MTU4NjQ0', 'jane@example.com', 'json/plain']) expect(raw).not.toContain(word);
    const [decrypted] = await codec.decode([encrypted!]);
    expect(valueOf(decrypted!)).toEqual(SECRET_VALUE);
    // A random IV: the same value encrypts differently each time.
    const [again] = await codec.encode([payload(SECRET_VALUE)]);
    expect(Buffer.from(again!.data!).equals(Buffer.from(encrypted!.data!))).toBe(false);
  });

  it('refuses to decode without the key, with the wrong key under the same id, and altered data', async () => {
    const [encrypted] = await new AesGcmCodec(keysOf(`a=${k1}`)).encode([payload(SECRET_VALUE)]);
    await expect(new AesGcmCodec(keysOf(`b=${k1}`)).decode([encrypted!])).rejects.toThrow(/key "a", which this process does not have/);
    await expect(new AesGcmCodec(keysOf(`a=${k2}`)).decode([encrypted!])).rejects.toThrow(/could not be decrypted/);
    const altered = { ...encrypted!, data: Uint8Array.from(encrypted!.data!, (b, i) => (i === 20 ? b ^ 1 : b)) };
    await expect(new AesGcmCodec(keysOf(`a=${k1}`)).decode([altered])).rejects.toThrow(/could not be decrypted/);
    // The key id is bound to the data: relabelled, it does not decrypt even where both keys are held.
    const relabelled = { ...encrypted!, metadata: { ...encrypted!.metadata, 'encryption-key-id': new Uint8Array(Buffer.from('b')) } };
    await expect(new AesGcmCodec(keysOf(`b=${k1},a=${k1}`)).decode([relabelled])).rejects.toThrow(/could not be decrypted/);
  });

  it('rotates: the first key encodes, every key listed decodes, and plain payloads pass through', async () => {
    const [old] = await new AesGcmCodec(keysOf(`old=${k1}`)).encode([payload('written last year')]);
    const rotated = new AesGcmCodec(keysOf(`new=${k2}, old=${k1}`));
    const [fresh] = await rotated.encode([payload('written today')]);
    expect(Buffer.from(fresh!.metadata!['encryption-key-id']!).toString()).toBe('new');
    const plain = payload('written before the codec');
    expect((await rotated.decode([old!, fresh!, plain])).map(valueOf)).toEqual(['written last year', 'written today', 'written before the codec']);
  });

  it('takes its keys from ZENDESK_EXPORT_CODEC_KEYS or a file, is off without them, and refuses bad keys in one sentence without quoting them', () => {
    expect(codecKeysFromEnv({})).toBeUndefined();
    expect(codecKeysFromEnv({ ZENDESK_EXPORT_CODEC_KEYS: `a=${k1},b=${k2}` })!.map((k) => k.id)).toEqual(['a', 'b']);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'codec-keys-'));
    try {
      writeFileSync(path.join(dir, 'keys'), `# newest first\nb=${k2}\na=${k1}\n`);
      expect(codecKeysFromEnv({ ZENDESK_EXPORT_CODEC_KEYS_FILE: path.join(dir, 'keys') })!.map((k) => k.id)).toEqual(['b', 'a']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const short = randomBytes(16).toString('base64');
    for (const [text, sentence] of [
      [`a=${short}`, /"a" in .* is not 32 bytes in base64/],
      [k1, /Entry 1 .* is not <id>=<key>/],
      // A bare key of letters and digits only: its padding "=" must not make it an id with no key.
      ['A'.repeat(43) + '=', /Entry 1 .* is not <id>=<key>/],
      [`a=${k1},a=${k2}`, /"a" appears twice/],
      [' , ', /holds no key/],
    ] as const) {
      const err = (() => {
        try {
          codecKeysFromEnv({ ZENDESK_EXPORT_CODEC_KEYS: text });
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err?.message).toMatch(sentence);
      expect(err?.message).not.toContain(short);
      expect(err?.message).not.toContain(k1);
    }
  });
});

describe('the codec server', () => {
  const TOKEN = 'codec-test-token-1234567890';
  const UI = 'http://127.0.0.1:8233';
  const codec = new AesGcmCodec(keysOf(`k=${newKey()}`));
  let server: CodecServer;
  beforeAll(async () => {
    server = await startCodecServer({ codec, token: TOKEN, uiOrigin: UI, port: 0 });
  });
  afterAll(() => server?.close());

  const toJson = (p: Payload) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
    data: Buffer.from(p.data!).toString('base64'),
  });
  const post = (route: string, body: unknown, headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` }) =>
    axios.post(`${server.url}${route}`, body, { headers, validateStatus: () => true });

  it('encodes and decodes payloads in the JSON form the UI and the temporal CLI send', async () => {
    const encoded = await post('/encode', { payloads: [toJson(payload(SECRET_VALUE))] });
    expect(encoded.status).toBe(200);
    expect(Buffer.from(encoded.data.payloads[0].metadata.encoding, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    const decoded = await post('/decode', encoded.data);
    expect(decoded.status).toBe(200);
    const back = decoded.data.payloads[0];
    expect(valueOf({ metadata: { encoding: Buffer.from(back.metadata.encoding, 'base64') }, data: Buffer.from(back.data, 'base64') })).toEqual(SECRET_VALUE);
  });

  it('answers 401 without the bearer token, or with another', async () => {
    const encoded = (await post('/encode', { payloads: [toJson(payload(SECRET_VALUE))] })).data;
    for (const headers of [{}, { Authorization: 'Bearer wrong-token-000000000' }, { Authorization: TOKEN }] as Record<string, string>[]) {
      const answer = await post('/decode', encoded, headers);
      expect(answer.status).toBe(401);
      expect(JSON.stringify(answer.data)).not.toContain('acme');
    }
  });

  it('lets the UI origin, and only it, call from the browser; a preflight needs no token', async () => {
    const preflight = await axios.request({
      method: 'OPTIONS',
      url: `${server.url}/decode`,
      headers: { Origin: UI, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type,x-namespace' },
      validateStatus: () => true,
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(UI);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/Authorization/);
    const other = await post('/decode', { payloads: [] }, { Origin: 'http://evil.example', Authorization: `Bearer ${TOKEN}` });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses what is not a list of payloads, and payloads it has no key for, in a sentence', async () => {
    expect((await post('/decode', 'not json', { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'text/plain' })).status).toBe(400);
    const [foreign] = await new AesGcmCodec(keysOf(`other=${newKey()}`)).encode([payload(SECRET_VALUE)]);
    const answer = await post('/decode', { payloads: [toJson(foreign!)] });
    expect(answer.status).toBe(400);
    expect(answer.data.message).toMatch(/key "other", which this process does not have/);
  });
});
