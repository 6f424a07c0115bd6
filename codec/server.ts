/**
 * Temporal's remote codec endpoints, for the Web UI and `temporal --codec-endpoint`: POST `/encode` and
 * `/decode` take and answer `{"payloads":[{"metadata":{...},"data":"..."}]}` (the proto's JSON form,
 * bytes in base64). Every request must carry `Authorization: Bearer <token>` (compared in constant
 * time), else 401; CORS lets the one UI origin given read the answers (preflights need no token).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** The bearer token every request must carry. */
  token: string;
  /** The Web UI's origin (`http://localhost:8233`), allowed to call from the browser. */
  uiOrigin?: string;
  /** @default 127.0.0.1 */
  host?: string;
  /** @default 8089; 0 for a free one */
  port?: number;
}

export interface CodecServer {
  url: string;
  close(): Promise<void>;
}

/** Requests larger than this are refused (a history's payloads are decoded a few at a time). */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

type JsonPayload = { metadata?: Record<string, string>; data?: string };

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p?.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(String(v), 'base64'))])),
  data: new Uint8Array(Buffer.from(String(p?.data ?? ''), 'base64')),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

/** Equal in constant time (hashes first, so the lengths do not show either). */
function sameToken(given: string, expected: string): boolean {
  const hash = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(hash(given), hash(expected));
}

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  if (options.token.length < 16) throw new Error('The codec server token must be at least 16 characters.');
  const server = http.createServer((req, res) => {
    const origin = req.headers.origin;
    if (origin && options.uiOrigin && origin === options.uiOrigin) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const action = /\/(encode|decode)$/.exec(new URL(req.url ?? '/', 'http://x').pathname)?.[1] as 'encode' | 'decode' | undefined;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type, X-Namespace',
        'Access-Control-Max-Age': '600',
      });
      return res.end();
    }
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!auth || !sameToken(auth, options.token)) return answer(401, { message: 'A bearer token is required.' });
    if (req.method !== 'POST' || !action) return answer(404, { message: 'POST /encode or /decode.' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        answer(413, { message: 'The request is too large.' });
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return;
      let payloads: Payload[];
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { payloads?: unknown };
        if (!Array.isArray(body?.payloads)) throw new Error('no payloads');
        payloads = (body.payloads as JsonPayload[]).map(fromJson);
      } catch {
        return answer(400, { message: 'The body is not {"payloads":[...]}.' });
      }
      options.codec[action](payloads).then(
        (done) => answer(200, { payloads: done.map(toJson) }),
        (err: unknown) => answer(400, { message: (err as Error)?.message ?? 'The payloads could not be processed.' }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8089, options.host ?? '127.0.0.1', resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
