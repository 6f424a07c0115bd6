/**
 * `zendesk-export`: parses argv, calls the client library, prints. Known mistakes print one sentence
 * and exit 2; a failed export exits 1; anything unexpected says so, with the stack only under --debug.
 */
import { WorkflowFailedError, isGrpcServiceError } from '@temporalio/client';
import { NamespaceNotFoundError } from '@temporalio/common';
import { CommanderError } from 'commander';
import { DestinationConfigError } from '../activities/destinations';
import { UnavailableError, UserError } from '../client/errors';
import { ZendeskConfigError } from '../zendesk/errors';
import type { GlobalOptions } from './context';
import { buildProgram } from './program';
import { EXIT, failureMessage } from './watch';

/** Runs the CLI; never lets a stack trace reach a user who made a mistake. */
export async function main(argv = process.argv): Promise<void> {
  const program = buildProgram();
  const fail = (code: number, sentence: string) => {
    const json = program.opts<GlobalOptions>().json;
    process.stderr.write(json ? `${JSON.stringify({ error: sentence, exitCode: code })}\n` : `${sentence}\n`);
    process.exitCode = code;
  };
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end here too: shown already, nothing to add.
      const shown = err.code === 'commander.help' || err.code === 'commander.helpDisplayed' || err.code === 'commander.version';
      if (shown) process.exitCode = 0;
      else fail(EXIT.usage, `${err.message.replace(/^error: /, '').replace(/^./, (c) => c.toUpperCase()).replace(/([^.])$/, '$1.')} See --help.`);
    } else if (
      err instanceof UserError ||
      err instanceof UnavailableError ||
      err instanceof ZendeskConfigError ||
      err instanceof DestinationConfigError
    ) {
      fail(EXIT.usage, err.message);
    } else if (err instanceof NamespaceNotFoundError || (err as { cause?: unknown })?.cause instanceof NamespaceNotFoundError) {
      const { namespace } = err instanceof NamespaceNotFoundError ? err : (err as { cause: NamespaceNotFoundError }).cause;
      fail(EXIT.usage, `Temporal has no namespace "${namespace}": give the right one with --namespace, TEMPORAL_NAMESPACE or the profile.`);
    } else if (temporalUnavailable(err)) {
      fail(EXIT.usage, 'Temporal stopped answering: check that the server is up (npm start, or temporal server start-dev) and TEMPORAL_ADDRESS.');
    } else if (err instanceof WorkflowFailedError) {
      fail(EXIT.failed, `Export failed: ${failureMessage(err)}`);
    } else {
      fail(EXIT.failed, `Unexpected error, please report it: ${(err as Error)?.message ?? String(err)}`);
      if (program.opts<GlobalOptions>().debug) process.stderr.write(`${(err as Error)?.stack}\n`);
    }
  }
}

/** Temporal went away during the command (the connection itself was made): gRPC UNAVAILABLE, bare or as a cause. */
function temporalUnavailable(err: unknown): boolean {
  const UNAVAILABLE = 14;
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return [err, cause].some((e) => isGrpcServiceError(e) && e.code === UNAVAILABLE);
}
