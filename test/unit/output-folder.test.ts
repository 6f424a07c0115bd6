/** Which folders a client may name: inside the worker's output root, whatever the root. */
import path from 'node:path';
import { resolveOutputFolder } from '../../activities/destinations/ndjson';
import { DestinationConfigError } from '../../activities/destinations';

test('a folder inside the root, named relatively or absolutely, resolves inside it', () => {
  expect(resolveOutputFolder('/data/export', '.')).toBe('/data/export');
  expect(resolveOutputFolder('/data/export', 'acme/run1')).toBe('/data/export/acme/run1');
  expect(resolveOutputFolder('/data/export', '/data/export/x')).toBe('/data/export/x');
  // A name that merely starts with two dots is inside.
  expect(resolveOutputFolder('/data/export', '..snapshots')).toBe(path.join('/data/export', '..snapshots'));
});

test('a folder outside the root is refused, however it is spelled', () => {
  for (const dir of ['..', '../x', '/data/export/../other', '/data/export-outside', '/etc', 'a/../../x']) {
    expect(() => resolveOutputFolder('/data/export', dir)).toThrow(DestinationConfigError);
  }
});

test('with the file system root as the output root, every absolute folder is inside', () => {
  expect(resolveOutputFolder('/', '/tmp/x')).toBe('/tmp/x');
  expect(resolveOutputFolder('/', 'relative')).toBe('/relative');
});
