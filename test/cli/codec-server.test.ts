/**
 * `zendesk-export codec-server` as a user runs it (the built CLI): refuses to start without a token or
 * keys in one sentence, serves /decode to a request with the token only, and stops on Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmCodec, parseCodecKeys } from '../../codec';
import { killRunning, runCli, startCli } from '../helpers/cli';

const cwd = mkdtempSync(path.join(os.tmpdir(), 'zendesk-export-codec-cli-'));
afterAll(() => {
  killRunning();
  rmSync(cwd, { recursive: true, force: true });
});

const KEYS = `cli=${randomBytes(32).toString('base64')}`;
const TOKEN = randomBytes(18).toString('hex');
const clean = { ZENDESK_EXPORT_CODEC_KEYS: '', ZENDESK_EXPORT_CODEC_KEYS_FILE: '', ZENDESK_EXPORT_CODEC_TOKEN: '' };

test('refuses to start without a token, or without keys, in one sentence and exit code 2', async () => {
  const noToken = await runCli(['codec-server', '--port', '0'], { ...clean, ZENDESK_EXPORT_CODEC_KEYS: KEYS }, { cwd });
  expect([noToken.code, noToken.stderr.trim()]).toEqual([2, expect.stringMatching(/^The codec server needs a bearer token .*ZENDESK_EXPORT_CODEC_TOKEN/)]);
  const noKeys = await runCli(['codec-server', '--port', '0'], { ...clean, ZENDESK_EXPORT_CODEC_TOKEN: TOKEN }, { cwd });
  expect([noKeys.code, noKeys.stderr.trim()]).toEqual([2, expect.stringMatching(/^The codec server needs the codec keys/)]);
  const badKey = await runCli(['codec-server', '--port', '0'], { ...clean, ZENDESK_EXPORT_CODEC_TOKEN: TOKEN, ZENDESK_EXPORT_CODEC_KEYS: 'cli=c2hvcnQ=' }, { cwd });
  expect([badKey.code, badKey.stderr.trim()]).toEqual([2, expect.stringMatching(/^The key "cli" in ZENDESK_EXPORT_CODEC_KEYS is not 32 bytes/)]);
});

test('decodes for a request with the token, answers 401 without it, and stops on Ctrl-C', async () => {
  const server = startCli(['codec-server', '--port', '0', '--ui-origin', 'http://localhost:8233'], { ...clean, ZENDESK_EXPORT_CODEC_KEYS: KEYS, ZENDESK_EXPORT_CODEC_TOKEN: TOKEN }, { cwd });
  const [, url] = await server.waitFor(/Codec server at (http:\/\/\S+) /);
  const [encrypted] = await new AesGcmCodec(parseCodecKeys(KEYS, 'the test keys')).encode([defaultPayloadConverter.toPayload({ cursor: 'abc' })]);
  const body = {
    payloads: [{ metadata: Object.fromEntries(Object.entries(encrypted!.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])), data: Buffer.from(encrypted!.data!).toString('base64') }],
  };
  const denied = await axios.post(`${url}/decode`, body, { validateStatus: () => true });
  expect(denied.status).toBe(401);
  const decoded = await axios.post(`${url}/decode`, body, { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect(Buffer.from(decoded.data.payloads[0].data, 'base64').toString()).toBe('{"cursor":"abc"}');
  expect(server.output()).not.toContain(TOKEN);
  server.interrupt();
  expect(await server.exited).toBe(0);
});
