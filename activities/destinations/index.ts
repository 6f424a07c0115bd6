/**
 * The destinations a worker may write to, from its own configuration: an NDJSON output root, and
 * named Postgres targets. A client's DestinationRef is resolved here, inside those limits.
 */
import path from 'node:path';
import type { DestinationRef } from '../../contract/page-activity';
import { DestinationConfigError, type Destination } from './destination';
import { ndjsonDestination, resolveOutputFolder } from './ndjson';
import { describePostgresTarget, postgresDestination } from './postgres';

export interface DestinationConfig {
  /** NDJSON folders must lie inside it. @default ./export in the worker's working folder */
  outputRoot: string;
  /** Postgres targets by name; `default` is the one `--dest postgres` names. */
  postgres: Record<string, string>;
  /** Postgres targets that keep every version of tickets, users and organizations (`…_versions` tables). @default none */
  history?: readonly string[];
}

/**
 * ZENDESK_EXPORT_OUTPUT_ROOT, ZENDESK_EXPORT_POSTGRES (named `default`) / ZENDESK_EXPORT_POSTGRES_<NAME>,
 * and ZENDESK_EXPORT_HISTORY: the targets (by name, comma-separated) that keep every version.
 */
export function destinationConfigFromEnv(env: Record<string, string | undefined>): DestinationConfig {
  const postgres: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (!value) continue;
    if (key === 'ZENDESK_EXPORT_POSTGRES') postgres.default = value;
    const named = /^ZENDESK_EXPORT_POSTGRES_([A-Z0-9_]+)$/.exec(key);
    if (named) postgres[named[1]!.toLowerCase().replaceAll('_', '-')] = value;
  }
  for (const [name, url] of Object.entries(postgres)) describePostgresTarget({ name, url }); // Refused at start, not at the first page.
  const history = (env.ZENDESK_EXPORT_HISTORY ?? '').split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = history.find((name) => !Object.hasOwn(postgres, name));
  if (unknown !== undefined) {
    throw new DestinationConfigError(`ZENDESK_EXPORT_HISTORY names "${unknown.slice(0, 40)}", which is not a Postgres target of this worker (${Object.keys(postgres).join(', ') || 'it has none'}).`);
  }
  return { outputRoot: path.resolve(env.ZENDESK_EXPORT_OUTPUT_ROOT || 'export'), postgres, ...(history.length && { history }) };
}

export interface Destinations {
  /** The destination a reference names; throws DestinationConfigError for one the configuration does not allow. */
  destinationFor(ref: DestinationRef): Destination;
  close(): Promise<void>;
}

export function createDestinations(config: DestinationConfig): Destinations {
  const open = new Map<string, Destination>();
  return {
    destinationFor(ref) {
      let key: string;
      let make: () => Destination;
      if (ref.kind === 'ndjson') {
        const folder = resolveOutputFolder(config.outputRoot, ref.dir);
        key = `ndjson:${folder}`;
        make = () => ndjsonDestination(folder, config.outputRoot);
      } else {
        const url = Object.hasOwn(config.postgres, ref.target) ? config.postgres[ref.target] : undefined;
        if (!url) {
          throw new DestinationConfigError(
            `The worker has no Postgres target "${ref.target}": set ZENDESK_EXPORT_POSTGRES${ref.target === 'default' ? '' : `_${ref.target.toUpperCase().replaceAll('-', '_')}`} for it.`,
          );
        }
        key = `postgres:${ref.target}`;
        make = () => postgresDestination({ name: ref.target, url, history: config.history?.includes(ref.target) });
      }
      let destination = open.get(key);
      if (!destination) open.set(key, (destination = make()));
      return destination;
    },
    async close() {
      await Promise.all([...open.values()].map((d) => d.close()));
      open.clear();
    },
  };
}

export { DestinationConfigError, DestinationError, DestinationRecordError, type Destination, type PageWrite } from './destination';
