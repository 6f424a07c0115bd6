/**
 * `zendesk-export codec-server`: Temporal's codec endpoints with this process's codec keys, so the Web
 * UI and the `temporal` CLI can show the payloads the worker and its clients encrypt.
 */
import type { Command } from 'commander';
import { UserError } from '../../client/errors';
import { AesGcmCodec, codecKeysFromEnv, CodecKeyError } from '../../codec';
import { startCodecServer } from '../../codec/server';

interface Flags {
  host: string;
  port: string;
  uiOrigin?: string;
  token?: string;
}

export function register(program: Command): void {
  program
    .command('codec-server')
    .description('serve /encode and /decode for the Temporal Web UI and CLI with the keys in $ZENDESK_EXPORT_CODEC_KEYS (or _FILE)')
    .option('--host <ip>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on', '8089')
    .option('--ui-origin <origin>', 'the Temporal Web UI origin allowed to call it from the browser (CORS), e.g. http://localhost:8233')
    .option('--token <token>', 'the bearer token every request must carry, 16 characters or more (default: $ZENDESK_EXPORT_CODEC_TOKEN)')
    .action(async (flags: Flags) => {
      const token = flags.token ?? process.env.ZENDESK_EXPORT_CODEC_TOKEN;
      if (!token || token.length < 16) throw new UserError('The codec server needs a bearer token of 16 characters or more: set ZENDESK_EXPORT_CODEC_TOKEN or pass --token.');
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port must be a port number, not "${flags.port}".`);
      if (flags.uiOrigin !== undefined && !/^https?:\/\/[^/\s]+$/.test(flags.uiOrigin)) {
        throw new UserError(`--ui-origin must be an origin such as http://localhost:8233, not "${flags.uiOrigin}".`);
      }
      let keys;
      try {
        keys = codecKeysFromEnv(process.env);
      } catch (err) {
        throw err instanceof CodecKeyError ? new UserError(err.message) : err;
      }
      if (!keys) throw new UserError('The codec server needs the codec keys: set ZENDESK_EXPORT_CODEC_KEYS or ZENDESK_EXPORT_CODEC_KEYS_FILE.');
      const server = await startCodecServer({ codec: new AesGcmCodec(keys), token, uiOrigin: flags.uiOrigin, host: flags.host, port }).catch((err: NodeJS.ErrnoException) => {
        throw new UserError(`The codec server cannot listen on ${flags.host}:${port}: ${err.code ?? err.message}.`);
      });
      process.stdout.write(`Codec server at ${server.url} (keys: ${keys.map((k) => k.id).join(', ')}; UI origin: ${flags.uiOrigin ?? 'none'})\n`);
      await new Promise<void>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, resolve);
      });
      await server.close();
    });
}
