/** Writing answers and reading request bodies. */
import type http from 'node:http';
import { HttpError } from './errors';

export const JSON_TYPE = 'application/json; charset=utf-8';

/** A string body is sent as text/plain unless a type is given; anything else as JSON. */
export function writeAnswer(res: http.ServerResponse, status: number, body: unknown, contentType?: string): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': contentType ?? (typeof body === 'string' ? 'text/plain' : JSON_TYPE) });
  res.end(text);
}

/** A JSON or form-encoded body; an empty body is `{}`. */
export async function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += chunk;
  if (!text.trim()) return {};
  if (text.trim().startsWith('{')) {
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new HttpError(400, { error: 'invalid_request', error_description: 'The body is not valid JSON' });
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}
