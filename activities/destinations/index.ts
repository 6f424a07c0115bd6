/**
 * The destinations a worker may write to, from its own configuration: an NDJSON output root, named
 * Postgres targets and named S3 targets. A client's DestinationRef is resolved here, inside those limits.
 */
import path from 'node:path';
import type { DestinationRef } from '../../contract/page-activity';
import { DestinationConfigError, type Destination } from './destination';
import { ndjsonDestination, resolveOutputFolder } from './ndjson';
import { describePostgresTarget, postgresDestination } from './postgres';
import { parseS3Target, s3Destination, type S3Target } from './s3';

export interface DestinationConfig {
  /** NDJSON folders must lie inside it. @default ./export in the worker's working folder */
  outputRoot: string;
  /** Postgres targets by name; `default` is the one `--dest postgres` names. */
  postgres: Record<string, string>;
  /** Postgres targets that keep every version of tickets, users and organizations (`…_versions` tables). @default none */
  history?: readonly string[];
  /** S3 targets by name; `default` is the one `--dest s3` names. @default none */
  s3?: Record<string, S3Target>;
}

const POSTGRES_VARIABLE = 'ZENDESK_EXPORT_POSTGRES';
const S3_VARIABLE = 'ZENDESK_EXPORT_S3';

/** Targets from `<variable>` (named `default`) and `<variable>_<NAME>` (named `name`, `_` as `-`). */
function namedTargets(env: Record<string, string | undefined>, variable: string): Record<string, string> {
  const targets: Record<string, string> = {};
  const pattern = new RegExp(`^${variable}_([A-Z0-9_]+)$`);
  for (const [key, value] of Object.entries(env)) {
    if (!value) continue;
    if (key === variable) targets.default = value;
    const named = pattern.exec(key);
    if (named) targets[named[1]!.toLowerCase().replaceAll('_', '-')] = value;
  }
  return targets;
}

/** The variable that names target `name`. */
function targetVariable(variable: string, name: string): string {
  return name === 'default' ? variable : `${variable}_${name.toUpperCase().replaceAll('-', '_')}`;
}

/**
 * ZENDESK_EXPORT_OUTPUT_ROOT, ZENDESK_EXPORT_POSTGRES (named `default`) / ZENDESK_EXPORT_POSTGRES_<NAME>,
 * ZENDESK_EXPORT_HISTORY (the Postgres targets, by name, comma-separated, that keep every version), and
 * ZENDESK_EXPORT_S3 / ZENDESK_EXPORT_S3_<NAME>. A target that is not well-formed is refused now, not at
 * the first page.
 */
export function destinationConfigFromEnv(env: Record<string, string | undefined>): DestinationConfig {
  const postgres = namedTargets(env, POSTGRES_VARIABLE);
  for (const [name, url] of Object.entries(postgres)) describePostgresTarget({ name, url });
  const history = (env.ZENDESK_EXPORT_HISTORY ?? '').split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = history.find((name) => !Object.hasOwn(postgres, name));
  if (unknown !== undefined) {
    throw new DestinationConfigError(`ZENDESK_EXPORT_HISTORY names "${unknown.slice(0, 40)}", which is not a Postgres target of this worker (${Object.keys(postgres).join(', ') || 'it has none'}).`);
  }
  const s3 = Object.fromEntries(Object.entries(namedTargets(env, S3_VARIABLE)).map(([name, url]) => [name, parseS3Target(name, url)]));
  return { outputRoot: path.resolve(env.ZENDESK_EXPORT_OUTPUT_ROOT || 'export'), postgres, ...(history.length && { history }), s3 };
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
      } else if (ref.kind === 'postgres') {
        const url = configured(config.postgres, ref.target, 'Postgres', POSTGRES_VARIABLE);
        key = `postgres:${ref.target}`;
        make = () => postgresDestination({ name: ref.target, url, history: config.history?.includes(ref.target) });
      } else {
        const target = configured(config.s3 ?? {}, ref.target, 'S3', S3_VARIABLE);
        key = `s3:${ref.target}`;
        make = () => s3Destination(target);
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

/** The target `name` of `targets`; throws DestinationConfigError, naming the variable to set, when there is none. */
function configured<T>(targets: Record<string, T>, name: string, kind: string, variable: string): T {
  const target = Object.hasOwn(targets, name) ? targets[name] : undefined;
  if (!target) throw new DestinationConfigError(`The worker has no ${kind} target "${name}": set ${targetVariable(variable, name)} for it.`);
  return target;
}

export { DestinationConfigError, DestinationError, DestinationRecordError, type Destination, type PageWrite } from './destination';
