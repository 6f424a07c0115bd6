/** The worker's destinations from its environment: the Postgres targets that keep history must be targets it has. */
import { destinationConfigFromEnv, DestinationConfigError } from '../../activities/destinations';

const TARGETS = { ZENDESK_EXPORT_POSTGRES: 'postgres://exporter@db/zendesk', ZENDESK_EXPORT_POSTGRES_WAREHOUSE: 'postgres://exporter@dw/zendesk' };

test('ZENDESK_EXPORT_HISTORY names the targets that keep every version', () => {
  expect(destinationConfigFromEnv(TARGETS).history).toBeUndefined();
  expect(destinationConfigFromEnv({ ...TARGETS, ZENDESK_EXPORT_HISTORY: 'warehouse, default' }).history).toEqual(['warehouse', 'default']);
});

test('a history target the worker does not have is refused at start, in one sentence naming the targets it has', () => {
  const read = () => destinationConfigFromEnv({ ...TARGETS, ZENDESK_EXPORT_HISTORY: 'default,archive' });
  expect(read).toThrow(DestinationConfigError);
  expect(read).toThrow('ZENDESK_EXPORT_HISTORY names "archive", which is not a Postgres target of this worker (default, warehouse).');
  expect(() => destinationConfigFromEnv({ ZENDESK_EXPORT_HISTORY: 'default' })).toThrow(/\(it has none\)\.$/);
});
