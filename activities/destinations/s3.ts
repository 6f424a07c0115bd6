/**
 * Object storage (Amazon S3 and S3-compatible servers): the NDJSON layout (layout.ts) as objects under a
 * bucket and prefix, pages optionally gzipped. A PutObject is atomic (the object is there whole or not at
 * all) and a page's key is fixed by its origin and number, so a retried page replaces itself; the
 * checkpoint object is written after the page's objects; an origin's owner object is created with a
 * conditional write (If-None-Match: *), so of two first writers one wins.
 *
 * The worker's configuration names the targets (ZENDESK_EXPORT_S3[_<NAME>]=s3://bucket/prefix?...);
 * clients only name a target. Credentials come from the AWS SDK's own chain (AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity, instance roles), never from the configuration's URL or
 * a client; messages name the target and the object's place under its prefix only, never the bucket, the
 * endpoint or a key id.
 */
import type * as Sdk from '@aws-sdk/client-s3';
import { DestinationConfigError, DestinationError, type Destination } from './destination';
import { layoutDestination, type ObjectStore } from './layout';

/** A bucket and prefix the worker may write to, by the name clients use for it. */
export interface S3Target {
  name: string;
  bucket: string;
  /** Without leading or trailing `/`; empty for the bucket's top. */
  prefix: string;
  /** An S3-compatible server instead of AWS, e.g. http://127.0.0.1:8333. */
  endpoint?: string;
  /** @default the SDK's (AWS_REGION, the profile's) */
  region?: string;
  /** Bucket in the path (`endpoint/bucket/key`), as most S3-compatible servers want. */
  forcePathStyle: boolean;
  gzip: boolean;
}

/** The options a target's URL may carry, with their values. */
const OPTIONS = ['endpoint', 'region', 'force-path-style', 'gzip'];
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX = /^[A-Za-z0-9!_.*'()\-/]{0,512}$/;
const REGION = /^[a-z0-9-]{1,40}$/;
/** JSON objects read back (checkpoints, owners) are small: read no more than this of one. */
const MAX_READ_BYTES = 1 << 20;

/**
 * A configured target from `s3://bucket/prefix?endpoint=…&region=…&force-path-style=true&gzip=true`.
 * Throws DestinationConfigError, in one sentence that does not repeat the URL, when it is not such a URL,
 * names an unknown option, or carries credentials.
 */
export function parseS3Target(name: string, text: string): S3Target {
  const refuse = (why: string) => new DestinationConfigError(`The S3 target "${name}" ${why}.`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refuse('is not a URL such as s3://bucket/prefix?region=eu-west-1');
  }
  if (url.protocol !== 's3:') throw refuse('must be an s3:// URL');
  if (url.username || url.password) throw refuse('has credentials in its URL; give them to the worker as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE');
  if (!BUCKET.test(url.hostname)) throw refuse('does not name a bucket (s3://bucket/prefix)');
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
  if (!PREFIX.test(prefix) || (prefix !== '' && prefix.split('/').some((part) => part === '' || part === '.' || part === '..'))) throw refuse('has a prefix that is not a plain path');
  const unknown = [...url.searchParams.keys()].find((key) => !OPTIONS.includes(key));
  if (unknown) throw refuse(`has an unknown option "${unknown.slice(0, 40)}" (it takes ${OPTIONS.join(', ')})`);
  const flag = (key: string) => {
    const value = url.searchParams.get(key);
    if (value === null || value === 'false') return false;
    if (value === 'true' || value === '') return true;
    throw refuse(`has ${key}=${value.slice(0, 20)}; it takes true or false`);
  };
  const region = url.searchParams.get('region') ?? undefined;
  if (region !== undefined && !REGION.test(region)) throw refuse('has a region that is not one, such as eu-west-1');
  const endpoint = url.searchParams.get('endpoint') ?? undefined;
  if (endpoint !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(endpoint);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) throw refuse('has an endpoint that is not an http(s) URL');
    if (parsed.username || parsed.password) throw refuse('has credentials in its endpoint; give them to the worker as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  }
  return { name, bucket: url.hostname, prefix, endpoint, region, forcePathStyle: flag('force-path-style'), gzip: flag('gzip') };
}

/** Why a request failed, in words that name no bucket, host or key id: the SDK's error name or the network code. */
function reason(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === 'CredentialsProviderError') return 'the worker has no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)';
  if (/region is missing/i.test(e.message ?? '')) return 'no region (add ?region=… to the target, or set AWS_REGION for the worker)';
  if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'Forbidden'].includes(e.name ?? '')) return `it refused the worker's credentials (${e.name})`;
  const status = e.$metadata?.httpStatusCode;
  // A service error's name is S3's code (NoSuchBucket, SlowDown); a network error's code is the system's.
  const name = status ? `${/^[A-Za-z]{1,64}$/.test(e.name ?? '') ? e.name! : 'HTTP'} ${status}` : /^[A-Z_]{2,40}$/.test(e.code ?? '') ? e.code! : 'unreachable';
  return name;
}

const CONTENT_TYPES: [suffix: string, type: string][] = [
  ['.gz', 'application/gzip'],
  ['.ndjson', 'application/x-ndjson'],
  ['.json', 'application/json'],
];

/** The SDK, loaded at a target's first request: it is large, and every CLI command loads this module. */
let sdk: Promise<typeof Sdk> | undefined;
const loadSdk = () => (sdk ??= import('@aws-sdk/client-s3'));

export function s3Destination(target: S3Target): Destination {
  const where = `S3 target "${target.name}"`;
  let connection: Promise<{ s3: typeof Sdk; client: Sdk.S3Client }> | undefined;
  const connect = () =>
    (connection ??= loadSdk().then((s3) => ({
      s3,
      client: new s3.S3Client({
        region: target.region,
        endpoint: target.endpoint,
        forcePathStyle: target.forcePathStyle,
        // A server that stops answering fails the request instead of holding the page (and the batch) for ever.
        requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
      }),
    })));
  const key = (name: string) => (target.prefix ? `${target.prefix}/${name}` : name);
  const contentType = (name: string) => CONTENT_TYPES.find(([suffix]) => name.endsWith(suffix))?.[1];
  const status = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const put = async (name: string, body: string | Uint8Array, ifNoneMatch?: string) => {
    const { s3, client } = await connect();
    await client.send(new s3.PutObjectCommand({ Bucket: target.bucket, Key: key(name), Body: body, ContentType: contentType(name), IfNoneMatch: ifNoneMatch }));
  };

  const store: ObjectStore = {
    async read(name) {
      const { s3, client } = await connect();
      try {
        const answer = await client.send(new s3.GetObjectCommand({ Bucket: target.bucket, Key: key(name), Range: `bytes=0-${MAX_READ_BYTES - 1}` }));
        return await answer.Body?.transformToString('utf8');
      } catch (err) {
        // 416: an empty object, which no checkpoint is.
        if ((err as Error).name === 'NoSuchKey' || status(err) === 404 || status(err) === 416) return undefined;
        throw err;
      }
    },
    write: (name, body) => put(name, body),
    async create(name, body) {
      try {
        await put(name, body, '*');
        return true;
      } catch (err) {
        // 412: it exists; 409: another conditional write of it is under way (its writer wins or it is tried again).
        if (status(err) === 412 || status(err) === 409) return false;
        throw err;
      }
    },
    async remove(name) {
      const { s3, client } = await connect();
      await client.send(new s3.DeleteObjectCommand({ Bucket: target.bucket, Key: key(name) }));
    },
    failure(name, err) {
      if (err instanceof DestinationConfigError) return err;
      return new DestinationError(`Could not write ${name} to ${where}: ${reason(err)}`);
    },
  };
  return layoutDestination(store, { gzip: target.gzip }, async () => (await connection)?.client.destroy());
}
