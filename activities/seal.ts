/**
 * Results (and shares) bound to the worker. Any client of the Temporal namespace can complete, fail or heartbeat a
 * running activity by its ID (RespondActivityTaskCompletedById and friends), so the page activity
 * seals what it reports (its result, its heartbeats, the failures that end an export) with an HMAC
 * under a key only workers hold, bound to the request it answers; the workflow believes a result only
 * once a local activity (whose answer the worker itself records in history) has found its seal good.
 * Workflow code cannot hold the key: everything it holds is in history, which every client can read.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { secret, type Env } from '../zendesk/credentials';
import { ZendeskConfigError } from '../zendesk/errors';
import { NON_RETRYABLE_FAILURES, type FailureType, type BatchInput, type BatchResult, type BatchProgress } from '../contract/page-activity';
import type { ShareGrant } from '../contract/share';

/**
 * What a seal vouches for: a batch's result, a heartbeat of its progress, a failure that ends the export,
 * or a share the coordinator hands an export (a signal from any client otherwise).
 */
export type SealKind = 'result' | 'heartbeat' | 'failure' | 'share';

/** The key's shortest length: 32 bytes (256 bits). */
const MIN_KEY_LENGTH = 32;
/** Secrets a worker holds; with no key set, the seal key is derived from them, so a deployment's workers agree. */
const WORKER_SECRETS = ['ZENDESK_API_TOKEN', 'ZENDESK_OAUTH_TOKEN', 'ZENDESK_OAUTH_CLIENT_SECRET', 'ZENDESK_OAUTH_REFRESH_TOKEN', 'ZENDESK_PASSWORD', 'PGPASSWORD', 'ZENDESK_REGISTRY_KEY'];

/** Seals bind a value to what it answers: a batch's request, or the export a share is for. */
export interface Sealer {
  seal(kind: SealKind, subject: BatchInput | string, value: unknown): string;
  verify(kind: SealKind, subject: BatchInput | string, value: unknown, seal: unknown): boolean;
}

export function createSealer(key: Buffer): Sealer {
  const mac = (kind: SealKind, subject: BatchInput | string, value: unknown) =>
    createHmac('sha256', key).update(JSON.stringify([kind, subject, value])).digest('base64url');
  return {
    seal: mac,
    verify(kind, request, value, seal) {
      if (typeof seal !== 'string') return false;
      const expected = Buffer.from(mac(kind, request, value));
      const given = Buffer.from(seal);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

/**
 * The seal key: `ZENDESK_EXPORT_SEAL_KEY` (or the file `ZENDESK_EXPORT_SEAL_KEY_FILE` names), at least 32
 * characters, the same on every worker of a deployment. Unset, it is derived from the secrets the worker
 * holds (its Zendesk credentials, its credentials file, PGPASSWORD), which a deployment's workers share;
 * a worker holding none gets a random key of its own (a result it seals is then believed only by itself).
 */
export function sealKeyFromEnv(env: Env): Buffer {
  const set = secret(env, 'ZENDESK_EXPORT_SEAL_KEY');
  if (set !== undefined) {
    if (set.length < MIN_KEY_LENGTH) throw new ZendeskConfigError(`ZENDESK_EXPORT_SEAL_KEY must be at least ${MIN_KEY_LENGTH} characters (for example \`openssl rand -hex 32\`).`);
    return Buffer.from(set);
  }
  const held = WORKER_SECRETS.map((name) => secret(env, name) ?? '');
  if (env.ZENDESK_CREDENTIALS_FILE) held.push(readOr(env.ZENDESK_CREDENTIALS_FILE));
  if (held.every((s) => !s)) return randomBytes(32);
  return createHmac('sha256', 'zendesk-export seal key').update(JSON.stringify(held)).digest();
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return ''; // Reading it for credentials says what is wrong.
  }
}

/** A result with its seal. */
export function sealResult(sealer: Sealer, request: BatchInput, result: BatchResult): BatchResult {
  return { ...result, seal: sealer.seal('result', request, result) };
}

/** Whether the worker made `result` for `request`. */
export function isSealedResult(sealer: Sealer, request: BatchInput, result: BatchResult): boolean {
  const { seal, ...unsealed } = result;
  return sealer.verify('result', request, unsealed, seal);
}

/** The coordinator's grants, each sealed for the export it is for. */
export function sealShares(sealer: Sealer, grants: readonly ShareGrant[]): string[] {
  return grants.map((grant) => sealer.seal('share', grant.exportId, grant));
}

/** A result or a failure the workflow asks about, with the request it answers; or a share an export was sent. */
export type SealClaim =
  | { kind: 'result'; request: BatchInput; result: BatchResult }
  | { kind: 'failure'; request: BatchInput; failure: { type: string; message: string }; seal: unknown }
  | { kind: 'share'; grant: ShareGrant; seal: unknown };

/** Whether the worker made what `claim` says it did. */
export function isGenuine(sealer: Sealer, claim: SealClaim): boolean {
  if (claim.kind === 'result') return isSealedResult(sealer, claim.request, claim.result);
  if (claim.kind === 'share') return sealer.verify('share', claim.grant.exportId, claim.grant, claim.seal);
  return sealer.verify('failure', claim.request, claim.failure, claim.seal);
}

/**
 * Fetches a batch (`fetch`) for `request` with a context whose heartbeats are sealed and whose heartbeat details are
 * believed only when sealed; a failure that ends the export leaves with its seal in its details.
 */
export async function sealedBatch(
  sealer: Sealer,
  request: BatchInput,
  fetch: (context: Context | undefined) => Promise<BatchResult>,
): Promise<BatchResult> {
  try {
    return sealResult(sealer, request, await fetch(sealedContext(sealer, request)));
  } catch (err) {
    if (!(err instanceof ApplicationFailure) || !(err.nonRetryable || NON_RETRYABLE_FAILURES.includes(err.type as FailureType))) throw err;
    const claim = { type: err.type ?? '', message: err.message };
    throw ApplicationFailure.create({ ...claim, nonRetryable: true, details: [sealer.seal('failure', request, claim)] });
  }
}

function sealedContext(sealer: Sealer, request: BatchInput): Context | undefined {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return undefined; // Called outside an activity (benchmarks).
  }
  const details = context.info.heartbeatDetails as { progress?: BatchProgress; seal?: unknown } | undefined;
  const believed = details && sealer.verify('heartbeat', request, details.progress, details.seal) ? details.progress : undefined;
  const sealed = Object.create(context) as Context;
  Object.defineProperty(sealed, 'info', { value: { ...context.info, heartbeatDetails: believed } });
  Object.defineProperty(sealed, 'heartbeat', {
    value: (progress: BatchProgress) => {
      const taken = JSON.parse(JSON.stringify(progress)) as BatchProgress; // The batch goes on changing its own.
      context.heartbeat({ progress: taken, seal: sealer.seal('heartbeat', request, taken) });
    },
  });
  return sealed;
}
