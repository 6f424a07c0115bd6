/**
 * S3 targets as the worker's configuration names them: a bucket, a prefix and options in an s3:// URL,
 * refused in one sentence (naming the target, never repeating the URL) when malformed or carrying
 * credentials; a client naming a target the worker does not have is refused naming what to set. Writing
 * to a real S3-compatible server is tested in test/cluster/s3.test.ts.
 */
import { createDestinations, DestinationConfigError, destinationConfigFromEnv } from '../../activities/destinations';
import { parseS3Target } from '../../activities/destinations/s3';

test('a target URL gives the bucket, the prefix and the options', () => {
  expect(parseS3Target('lake', 's3://zendesk-raw/exports/eu/?region=eu-west-1')).toEqual({
    name: 'lake',
    bucket: 'zendesk-raw',
    prefix: 'exports/eu',
    region: 'eu-west-1',
    endpoint: undefined,
    forcePathStyle: false,
    gzip: false,
  });
  expect(parseS3Target('local', 's3://b12?endpoint=http://127.0.0.1:8333&force-path-style=true&gzip')).toMatchObject({
    bucket: 'b12',
    prefix: '',
    endpoint: 'http://127.0.0.1:8333',
    forcePathStyle: true,
    gzip: true,
  });
});

test.each([
  ['not a URL', 'bucket/prefix', /is not a URL/],
  ['another scheme', 'https://bucket.s3.amazonaws.com/prefix', /must be an s3:\/\/ URL/],
  ['credentials in the URL', 's3://AKIAEXAMPLE:secret-key@bucket/prefix', /credentials in its URL; give them to the worker as AWS_ACCESS_KEY_ID/],
  ['credentials in the endpoint', 's3://bucket/p?endpoint=http://AKIAEXAMPLE:secret-key@127.0.0.1:8333', /credentials in its endpoint/],
  ['a bad bucket', 's3://B_/prefix', /does not name a bucket/],
  ['a prefix with ..', 's3://bucket/a%2F..%2Fb', /prefix that is not a plain path/],
  ['an unknown option', 's3://bucket/p?secret=secret-key', /unknown option "secret"/],
  ['a flag neither true nor false', 's3://bucket/p?gzip=yes', /gzip=yes; it takes true or false/],
  ['an endpoint that is not http', 's3://bucket/p?endpoint=ftp://host', /endpoint that is not an http\(s\) URL/],
])('a target with %s is refused in one sentence that does not repeat it', (_, url, message) => {
  const err = (() => {
    try {
      parseS3Target('lake', url);
    } catch (e) {
      return e as Error;
    }
  })();
  expect(err).toBeInstanceOf(DestinationConfigError);
  expect(err!.message).toMatch(message);
  expect(err!.message).toMatch(/^The S3 target "lake" [^\n]*\.$/);
  expect(err!.message).not.toMatch(/secret-key|AKIAEXAMPLE/);
});

test('targets come from ZENDESK_EXPORT_S3 (default) and ZENDESK_EXPORT_S3_<NAME>, checked when the worker starts', () => {
  const config = destinationConfigFromEnv({ ZENDESK_EXPORT_S3: 's3://main-bucket', ZENDESK_EXPORT_S3_EU_LAKE: 's3://eu-bucket/raw?region=eu-west-1' });
  expect(Object.keys(config.s3!).sort()).toEqual(['default', 'eu-lake']);
  expect(config.s3!['eu-lake']).toMatchObject({ name: 'eu-lake', bucket: 'eu-bucket', prefix: 'raw' });
  expect(() => destinationConfigFromEnv({ ZENDESK_EXPORT_S3_LAKE: 's3://k:secret-key@bucket' })).toThrow(/^The S3 target "lake" has credentials in its URL/);
});

test('a target the worker does not have is refused naming the variable to set', async () => {
  const destinations = createDestinations(destinationConfigFromEnv({ ZENDESK_EXPORT_S3_LAKE: 's3://bucket' }));
  expect(() => destinations.destinationFor({ kind: 's3', target: 'other-lake' })).toThrow(
    new DestinationConfigError('The worker has no S3 target "other-lake": set ZENDESK_EXPORT_S3_OTHER_LAKE for it.'),
  );
  expect(() => destinations.destinationFor({ kind: 's3', target: 'default' })).toThrow(/set ZENDESK_EXPORT_S3 for it\.$/);
  expect(destinations.destinationFor({ kind: 's3', target: 'lake' })).toBe(destinations.destinationFor({ kind: 's3', target: 'lake' }));
  await destinations.close();
});
