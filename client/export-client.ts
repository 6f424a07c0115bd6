/**
 * The API that applications embed (the CLI is a layer over it): start exports of any of the seven
 * endpoints, follow their progress, pause, resume, cancel, resume a stopped export, list an account's
 * exports, change an account's budget. Ended exports are described from what Temporal keeps (their
 * result and memo), so no worker is needed for them.
 */
import {
  CancelledFailure,
  Client,
  Connection,
  WithStartWorkflowOperation,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  isGrpcCancelledError,
  isGrpcDeadlineError,
  isGrpcServiceError,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import { innermostCause } from '../common/cause';
import { sleep } from '../common/sleep';
import { addCounts, countsOf } from '../contract/counts';
import type { RateBucket, RateBudget } from '../zendesk/endpoints';
import { accountExportPrefix, coordinatorWorkflowId, DEFAULT_TASK_QUEUE, exportWorkflowId, MEMO, parseExportWorkflowId } from '../workflows/ids';
import { pauseSignal, pauseUpdate, progressQuery, resumeSignal, resumeUpdate, setBudgetSignal, setBudgetUpdate, startExportSignal, startExportUpdate } from '../workflows/messages';
import { coordinatorSearchAttributes } from '../workflows/search-attributes';
import type { CoordinatorInput, ExportInput, ExportResult, ExportState } from '../workflows/types';
import type { BatchProgress } from '../contract/page-activity';
import type { accountCoordinator, exportResource } from '../workflows';
import { refusesConnections, resolveTemporalOptions, type TemporalOptions } from './connection';
import { UnavailableError, UserError } from './errors';
import { checkBudgetRequest, checkExportRequest, parseAccount, toExportInput, type ExportRequest } from './request';

/**
 * Temporal's word for where an export is: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT,
 * CONTINUED_AS_NEW; or PENDING: requested, and no worker has taken the request in yet.
 */
export type TemporalStatus = WorkflowExecutionDescription['status']['name'] | 'PENDING';

/** What `list` and `status` report of an export. */
export interface ExportSummary {
  workflowId: string;
  temporalStatus: TemporalStatus;
  startTime: Date;
  closeTime?: Date;
  /** Why Temporal is retrying the batch in hand (its worker died, say); failing requests show in the state's `retry`. */
  retrying?: string;
  /** The state an ended export recorded (no worker needed). */
  state?: ExportState;
  /** Why it failed, for a failed export. */
  failure?: string;
  /** What the batch in flight has done so far (from its last heartbeat). */
  inFlight?: BatchProgress;
}

/** The state with the pages of the batch in flight counted in: the workflow only hears of them when the batch ends. */
function withBatchInFlight(state: ExportState, batch: BatchProgress): ExportState {
  const p = state.progress;
  return {
    ...state,
    at: batch.at,
    progress: { ...p, ...addCounts(countsOf(p), countsOf(batch)) },
  };
}

export interface ExportClientOptions {
  client: Client;
  /** @default "zendesk-export" */
  taskQueue?: string;
  /** How long `start` waits for a worker to pick the export up before returning it as pending. @default 30000 */
  startTimeoutMs?: number;
  /** How long a progress query waits for a worker to answer. @default 5000 */
  queryTimeoutMs?: number;
  /**
   * Tag exports with the custom search attributes (ZendeskAccount, ...), so the UI can filter them.
   * A cluster that lacks them is detected and the tags dropped. @default true
   */
  searchAttributes?: boolean;
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('The wait was aborted', 'AbortError');
}

type CoordinatorRun = Pick<WorkflowExecutionDescription, 'status' | 'startTime' | 'memo'>;

/** The exports a coordinator was started for, as its memo names them until a worker takes them in. */
function requestedOf(coordinator: CoordinatorRun): string[] {
  const requested = (coordinator.memo as Record<string, unknown> | undefined)?.[MEMO.requested];
  return Array.isArray(requested) ? requested.filter((id): id is string => typeof id === 'string') : [];
}

function pendingSummary(workflowId: string, coordinator: CoordinatorRun, exportStarted?: Date): ExportSummary | undefined {
  const pending = coordinator.status.name === 'RUNNING' && requestedOf(coordinator).includes(workflowId) && !(exportStarted && exportStarted >= coordinator.startTime);
  return pending ? { workflowId, temporalStatus: 'PENDING', startTime: coordinator.startTime } : undefined;
}


/** A gRPC call cancelled on our side, as Temporal's client reports it (bare or as the cause of a ServiceError). */
function isCancelled(err: unknown): boolean {
  return isGrpcCancelledError(err) || isGrpcCancelledError((err as { cause?: unknown } | undefined)?.cause);
}

/** A gRPC deadline that passed, bare or as the cause of Temporal's ServiceError ("Failed to query Workflow"). */
function isDeadline(err: unknown): boolean {
  return isGrpcDeadlineError(err) || isGrpcDeadlineError((err as { cause?: unknown } | undefined)?.cause);
}

/** The server's FAILED_PRECONDITION for a query no worker has polled for lately ("no poller seen for task queue recently"). */
function isNoPoller(err: unknown): boolean {
  const FAILED_PRECONDITION = 9;
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return [err, cause].some((e) => isGrpcServiceError(e) && e.code === FAILED_PRECONDITION && /no poller/i.test(e.details ?? e.message));
}

/** An export: running, ended, or requested and not yet picked up by a worker. */
export class ExportHandle {
  constructor(
    /** The workflow's business ID, e.g. `zendesk-export/acme/tickets/tickets_cursor`. */
    readonly workflowId: string,
    private readonly exports: ExportClient,
    /** The run this handle was made for (its results follow that run's continue-as-new chain). */
    private runId?: string,
    /** True when `start` found this export already running and returned it instead. */
    readonly alreadyRunning = false,
    /** Requested, but no worker had started it yet: the run that existed before, if any. */
    private readonly before?: { runId?: string },
  ) {}

  /** Requested, not yet started by a worker (is one running on the task queue?). */
  get pending(): boolean {
    return this.before !== undefined && this.runId === undefined;
  }

  private handle(runId?: string): WorkflowHandle<typeof exportResource> {
    return this.exports.client.workflow.getHandle<typeof exportResource>(this.workflowId, runId);
  }

  /**
   * Waits until a worker has started the requested export; returns at once for a started one. An
   * aborted `signal` ends the wait with an AbortError.
   */
  async started(pollMs = 500, signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      if (await this.hasStarted()) return;
      await sleep(pollMs, signal); // Cut short by an abort, which the next turn throws.
    }
  }

  /** Looks once whether a worker has started the requested export (always true for a started one). */
  async hasStarted(): Promise<boolean> {
    if (this.runId !== undefined || !this.before) return true;
    const run = await this.exports.describeRun(this.workflowId);
    if (run && run.runId !== this.before.runId) this.runId = run.runId;
    return this.runId !== undefined;
  }

  /**
   * Position, counts and status. An ended export answers from what it recorded; a running one asks
   * its worker, and throws UnavailableError when none answers in time.
   */
  async progress(): Promise<ExportState> {
    const d = await this.describe();
    if (d.state) return d.state;
    if (d.temporalStatus !== 'RUNNING') throw new UnavailableError(`Export ${this.workflowId} ended (${d.temporalStatus.toLowerCase()}) without recording its state.`);
    const state = await this.exports.query(this.handle(), this.workflowId);
    return d.inFlight ? withBatchInFlight(state, d.inFlight) : state;
  }

  /**
   * Pauses after the page in flight, answered by the export's worker. With no worker (or one of 0.2.1)
   * the pause is sent as a signal instead, which the export takes in when a worker runs it.
   */
  async pause(): Promise<void> {
    const reply = await this.exports.answered(() => this.handle().executeUpdate(pauseUpdate));
    if ('unanswered' in reply) await this.handle().signal(pauseSignal);
  }
  async resume(): Promise<void> {
    const reply = await this.exports.answered(() => this.handle().executeUpdate(resumeUpdate));
    if ('unanswered' in reply) await this.handle().signal(resumeSignal);
  }
  /** Stops the export after the page in flight; `result()` then says where it stopped. */
  async cancel(): Promise<void> {
    await this.handle().cancel();
  }

  /**
   * Waits for the export to end: completed, or cancelled with where it stopped. Throws WorkflowFailedError
   * on failure. The wait is a long poll on the connection: abort `signal` before closing the client
   * (the wait then ends with an AbortError), or the poll's retry finds the connection gone.
   */
  async result(options: { signal?: AbortSignal } = {}): Promise<ExportResult> {
    const { signal } = options;
    const wait = async () => {
      await this.started(500, signal);
      signal?.throwIfAborted();
      return await this.handle(this.runId).result();
    };
    try {
      return await (signal ? this.exports.client.connection.withAbortSignal(signal, wait) : wait());
    } catch (err) {
      if (signal?.aborted && isCancelled(err)) throw abortError(signal);
      if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
        const { state } = await this.describe();
        if (state) return { outcome: 'cancelled', state };
      }
      throw err;
    }
  }

  /** Where the export is; PENDING when requested and no worker has taken the request in yet. */
  async describe(): Promise<ExportSummary> {
    const d = await this.exports.describeRun(this.workflowId);
    if (d?.status.name !== 'RUNNING') {
      const pending = await this.exports.pendingRequest(this.workflowId, d?.startTime);
      if (pending) return pending;
    }
    if (!d) throw new WorkflowNotFoundError(`There is no export ${this.workflowId}.`, this.workflowId, undefined);
    const pending = d.raw.pendingActivities?.find((a) => (a.attempt ?? 0) > 1 && a.lastFailure?.message);
    const memo = (d.memo ?? {}) as Record<string, unknown>;
    const summary: ExportSummary = {
      workflowId: this.workflowId,
      temporalStatus: d.status.name,
      startTime: d.startTime,
      closeTime: d.closeTime,
      retrying: pending ? `attempt ${pending.attempt}: ${pending.lastFailure!.message}` : undefined,
      state: memo[MEMO.state] as ExportState | undefined,
      inFlight: this.exports.heartbeatOf(d.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0]),
    };
    if (d.status.name === 'FAILED' || d.status.name === 'TERMINATED' || d.status.name === 'TIMED_OUT') {
      // The memo has Zendesk's words when the export recorded its end; a terminated or rejected one did not.
      summary.failure = summary.state?.error ?? (await this.closeReason(d.runId));
    }
    return summary;
  }

  /** Why a closed run did not complete, from its close event in Temporal (no worker needed). */
  private async closeReason(runId: string): Promise<string | undefined> {
    try {
      await this.exports.client.workflow.result(this.workflowId, runId, { followRuns: false });
      return undefined;
    } catch (err) {
      return innermostCause(err)?.message || undefined;
    }
  }
}

/** Accounts whose exports are asked for at once by startMany (each account's own exports one after the other). */
const START_CONCURRENCY = 32;

export class ExportClient {
  readonly taskQueue: string;
  private readonly startTimeoutMs: number;
  private readonly queryTimeoutMs: number;
  private searchAttributes: boolean;
  /** A cluster refused the custom search attributes: starts go without them until then (servers cache the list for a minute). */
  private withoutSearchAttributesUntil = 0;

  constructor(private readonly options: ExportClientOptions) {
    this.taskQueue = options.taskQueue ?? DEFAULT_TASK_QUEUE;
    this.startTimeoutMs = options.startTimeoutMs ?? 30_000;
    this.queryTimeoutMs = options.queryTimeoutMs ?? 5_000;
    this.searchAttributes = options.searchAttributes ?? true;
  }

  /**
   * Connects to Temporal with flags, the environment and env-config profiles (see TemporalOptions);
   * `waits` changes how long `start` and progress queries wait for a worker.
   */
  static async connect(options: TemporalOptions = {}, waits: Pick<ExportClientOptions, 'startTimeoutMs' | 'queryTimeoutMs'> = {}): Promise<ExportClient> {
    const resolved = resolveTemporalOptions(options);
    const unreachable = new UnavailableError(`Cannot reach Temporal at ${resolved.address}: start a server (npm start, or temporal server start-dev) or set TEMPORAL_ADDRESS.`);
    if (await refusesConnections(resolved.address)) throw unreachable;
    let connection: Connection;
    try {
      connection = await Connection.connect({ ...resolved.connectionOptions, connectTimeout: 10_000 });
    } catch {
      throw unreachable;
    }
    return new ExportClient({ client: new Client({ connection, namespace: resolved.namespace, dataConverter: resolved.dataConverter }), taskQueue: resolved.taskQueue, ...waits });
  }

  get client(): Client {
    return this.options.client;
  }

  /**
   * Starts an export through the account's coordinator, which shares the account's rate budget
   * between its exports. Idempotent by workflow ID: if the same account and endpoint is already
   * being exported, returns that export with `alreadyRunning` set and starts nothing. When no worker
   * picks it up within `startTimeoutMs`, returns it `pending` (it starts when a worker comes).
   */
  start(request: ExportRequest): Promise<ExportHandle> {
    return this.startInput(toExportInput(request));
  }

  /**
   * Exports several resources of one account at once; they share the account's budget. All are
   * checked before any is requested, then requested together (one `startTimeoutMs`, not one per export).
   */
  async startMany(requests: readonly ExportRequest[]): Promise<ExportHandle[]> {
    return this.startInputs(requests.map((r) => toExportInput(r)));
  }

  /** Starts an export from a complete workflow input (advanced: resumes and tools). */
  async startInput(input: ExportInput): Promise<ExportHandle> {
    return (await this.startInputs([input]))[0]!;
  }

  /**
   * Asks for each account's exports in turn (so they join the account's budget in the order given),
   * accounts side by side (START_CONCURRENCY at a time: a fleet's thousand accounts get under way in
   * seconds, not one answered round trip after the other), until no worker answers within
   * `startTimeoutMs` in all: the rest are then sent as signals, which wait in the coordinator's history
   * for a worker, and returned pending. Handles come back in the order of `inputs`.
   */
  private async startInputs(inputs: readonly ExportInput[]): Promise<ExportHandle[]> {
    for (const input of inputs) checkExportRequest(input); // The contract's rules, before anything is sent.
    const deadline = Date.now() + this.startTimeoutMs;
    const handles: ExportHandle[] = new Array<ExportHandle>(inputs.length);
    const byAccount = new Map<string, number[]>();
    inputs.forEach((input, i) => byAccount.set(input.account, [...(byAccount.get(input.account) ?? []), i]));
    const accounts = [...byAccount.values()];
    let answering = true;
    const startAccount = async (indexes: number[]) => {
      const batch = indexes.map((i) => inputs[i]!);
      for (const i of indexes) {
        const handle = answering ? await this.request(inputs[i]!, batch, deadline) : await this.requestUnanswered(inputs[i]!);
        answering &&= !handle.pending;
        handles[i] = handle;
      }
    };
    // A start refused stops the lanes taking more accounts; the starts in flight finish, then it is thrown.
    let failure: { error: unknown } | undefined;
    const lanes = Array.from({ length: Math.min(START_CONCURRENCY, accounts.length) }, async () => {
      for (let next = accounts.shift(); next && !failure; next = accounts.shift()) await startAccount(next).catch((error: unknown) => void (failure ??= { error }));
    });
    await Promise.all(lanes);
    if (failure) throw failure.error;
    return handles;
  }

  /**
   * Asks the account's coordinator to start the export (starting the coordinator if need be), and
   * waits until it answers: started, running already, or refused with one sentence. When no worker
   * answers by `deadline` (or the worker is of 0.2.1, which knows only the signal), the start is sent
   * as a signal too, and the export is pending: a coordinator started for `batch` shows it as requested.
   */
  private async request(input: ExportInput, batch: readonly ExportInput[], deadline: number): Promise<ExportHandle> {
    const workflowId = exportWorkflowId(input.account, input.resource, input.endpoint);
    const requestedAt = Date.now();
    const reply = await this.withSearchAttributes((withAttributes) =>
      this.answered(
        () => this.client.workflow.executeUpdateWithStart(startExportUpdate, { args: [input], startWorkflowOperation: this.coordinatorStart(input.account, batch, withAttributes) }),
        deadline - Date.now(),
      ),
    );
    if ('answer' in reply) return new ExportHandle(workflowId, this, reply.answer.runId, reply.answer.alreadyRunning);
    return this.requestUnanswered(input, requestedAt);
  }

  /**
   * Sends the start as the signal of 0.2.1: durable, answered by nobody, taken in when a worker runs
   * the coordinator (an update not yet taken in may be lost). The export runs (started meanwhile) or is pending.
   */
  private async requestUnanswered(input: ExportInput, requestedAt = Date.now()): Promise<ExportHandle> {
    const workflowId = exportWorkflowId(input.account, input.resource, input.endpoint);
    await this.withSearchAttributes((withAttributes) =>
      this.client.workflow.signalWithStart('accountCoordinator', { ...this.coordinatorOptions(input.account, [input], withAttributes), signal: startExportSignal, signalArgs: [input] }),
    );
    const run = await this.describeRun(workflowId);
    if (run?.status.name === 'RUNNING') return new ExportHandle(workflowId, this, run.runId, run.startTime.getTime() < requestedAt);
    return new ExportHandle(workflowId, this, undefined, false, { runId: run?.runId });
  }

  /** How the account's coordinator starts, when a start finds none running: with the exports it was started for. */
  private coordinatorStart(account: string, batch: readonly ExportInput[], withAttributes: boolean): WithStartWorkflowOperation<typeof accountCoordinator> {
    return new WithStartWorkflowOperation<typeof accountCoordinator>('accountCoordinator', {
      ...this.coordinatorOptions(account, batch, withAttributes),
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  }

  /** The account's coordinator, as a start that finds none running starts it: the memo names the exports it is started for. */
  private coordinatorOptions(account: string, batch: readonly ExportInput[], withAttributes: boolean) {
    return {
      workflowId: coordinatorWorkflowId(account),
      taskQueue: this.taskQueue,
      args: [{ account }] as [CoordinatorInput],
      memo: { [MEMO.requested]: batch.map((i) => exportWorkflowId(i.account, i.resource, i.endpoint)) },
      typedSearchAttributes: withAttributes ? coordinatorSearchAttributes(account) : undefined,
      staticSummary: `Zendesk account ${account}: shares its rate budget between its exports`,
      // The account is the fairness key of the coordinator's workflow tasks, and of its exports' (children
      // inherit it): under overload the server hands the workflows' own turns out account by account too.
      priority: { fairnessKey: account },
    };
  }

  /**
   * An update's answer, waited for at most `ms`. Unanswered when no worker took it in time, or when
   * the worker is of 0.2.1 and knows only signals: the caller falls back. A refusal is thrown as a
   * UserError with the worker's sentence.
   */
  async answered<T>(call: () => Promise<T>, ms = this.queryTimeoutMs): Promise<{ answer: T } | { unanswered: 'no-worker' | 'old-worker' }> {
    const deadline = Date.now() + Math.max(0, ms);
    try {
      return { answer: await this.client.connection.withDeadline(deadline, call) };
    } catch (err) {
      if (isDeadline(err) || (isCancelled(err) && Date.now() >= deadline)) return { unanswered: 'no-worker' };
      if (!(err instanceof WorkflowUpdateFailedError)) throw err;
      const reason = innermostCause(err)?.message ?? String(err);
      if (/No registered handler for update/.test(reason)) return { unanswered: 'old-worker' };
      throw new UserError(reason);
    }
  }

  /** The export of an account, resource and endpoint (running or not). */
  handle(workflowId: string): ExportHandle {
    return new ExportHandle(workflowId, this);
  }

  /**
   * Resumes a stopped, cancelled or failed export from where it stopped, as a new run with the same
   * workflow ID, the same destination and the same page numbering (so nothing is written twice).
   * Needs no worker to read where it stopped: an ended export records it.
   */
  async resumeStopped(workflowId: string, changes: Partial<Pick<ExportInput, 'followIntervalSeconds' | 'budget'>> = {}): Promise<ExportHandle> {
    const run = await this.describeRun(workflowId);
    if (!run) throw new UserError(`There is no export ${workflowId} to resume.`);
    if (run.status.name === 'RUNNING') throw new UserError(`Export ${workflowId} is still running; pause or cancel it first.`);
    const memo = (run.memo ?? {}) as Record<string, unknown>;
    const input = memo[MEMO.input] as ExportInput | undefined;
    const state = memo[MEMO.state] as ExportState | undefined;
    if (!input || !state) {
      throw new UserError(`Export ${workflowId} ended (${run.status.name.toLowerCase()}) without recording where it stopped; start it again with --start-time or --cursor.`);
    }
    return this.startInput({ ...input, ...changes, state: { ...state, paused: false } });
  }

  /** The exports of an account (or of all accounts), newest run of each. */
  async list(account?: string): Promise<ExportSummary[]> {
    const prefix = accountExportPrefix(account === undefined ? undefined : parseAccount(account));
    const out: ExportSummary[] = [];
    for await (const w of this.client.workflow.list({ query: `WorkflowType = 'exportResource' AND WorkflowId STARTS_WITH '${prefix}'` })) {
      const memo = (w.memo ?? {}) as Record<string, unknown>;
      out.push({ workflowId: w.workflowId, temporalStatus: w.status.name, startTime: w.startTime, closeTime: w.closeTime, state: memo[MEMO.state] as ExportState | undefined });
    }
    const newest = new Map<string, ExportSummary>();
    for (const s of out.sort((a, b) => b.startTime.getTime() - a.startTime.getTime())) if (!newest.has(s.workflowId)) newest.set(s.workflowId, s);
    const coordinators = account === undefined ? `WorkflowId STARTS_WITH '${coordinatorWorkflowId('')}'` : `WorkflowId = '${coordinatorWorkflowId(parseAccount(account))}'`;
    for await (const c of this.client.workflow.list({ query: `WorkflowType = 'accountCoordinator' AND ExecutionStatus = 'Running' AND ${coordinators}` })) {
      for (const workflowId of requestedOf(c)) {
        const pending = pendingSummary(workflowId, c, newest.get(workflowId)?.startTime);
        if (pending) newest.set(workflowId, pending);
      }
    }
    return [...newest.values()];
  }

  /**
   * The export as a request no worker has taken in yet, or undefined: its account's coordinator was
   * started for it and has not run since (no worker), and no run of the export is newer.
   */
  async pendingRequest(workflowId: string, exportStarted?: Date): Promise<ExportSummary | undefined> {
    const account = parseExportWorkflowId(workflowId)?.account;
    const coordinator = account === undefined ? undefined : await this.describeRun(coordinatorWorkflowId(account));
    return coordinator && pendingSummary(workflowId, coordinator, exportStarted);
  }

  /** A new budget for a bucket of an account whose exports are running; they pace to it at once. */
  async setBudget(account: string, bucket: RateBucket | string, budget: RateBudget): Promise<void> {
    const name = parseAccount(account);
    checkBudgetRequest(bucket, budget);
    const coordinator = this.client.workflow.getHandle(coordinatorWorkflowId(name));
    const reply = await this.answered(() => coordinator.executeUpdate(setBudgetUpdate, { args: [bucket as RateBucket, budget] })).catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) throw new UserError(`No export of account ${name} is running; give --rate-limit when you start one.`);
      throw err;
    });
    // No worker, or one of 0.2.1: the signal waits in the coordinator's history for one.
    if ('unanswered' in reply) await coordinator.signal(setBudgetSignal, bucket as RateBucket, budget);
  }

  async close(): Promise<void> {
    await this.client.connection.close();
  }

  /** The newest run of a workflow ID, or undefined when there is none. */
  async describeRun(workflowId: string): Promise<WorkflowExecutionDescription | undefined> {
    try {
      return await this.client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /** A batch's heartbeat details, decoded; undefined when absent or not a batch's progress. */
  heartbeatOf(payload: Parameters<Client['options']['loadedDataConverter']['payloadConverter']['fromPayload']>[0] | undefined): BatchProgress | undefined {
    if (!payload) return undefined;
    try {
      const value = this.client.options.loadedDataConverter.payloadConverter.fromPayload<BatchProgress>(payload);
      return value && typeof value === 'object' && Number.isSafeInteger(value.pages) && value.at ? value : undefined;
    } catch {
      return undefined;
    }
  }

  /** The progress query, with a deadline: a running export with no worker says so instead of hanging. */
  async query(handle: WorkflowHandle<typeof exportResource>, workflowId: string): Promise<ExportState> {
    const deadline = Date.now() + this.queryTimeoutMs;
    try {
      return await this.client.connection.withDeadline(deadline, () => handle.query(progressQuery));
    } catch (err) {
      // gRPC reports a passed deadline as DEADLINE_EXCEEDED, or at times as CANCELLED once it has passed;
      // a server that has seen no poller on the task queue for a while says so before the deadline.
      if (isDeadline(err) || (isCancelled(err) && Date.now() >= deadline) || isNoPoller(err)) {
        throw new UnavailableError(`No worker answered for ${workflowId} within ${this.queryTimeoutMs / 1000}s: is "zendesk-export worker" running on task queue "${this.taskQueue}"?`);
      }
      throw err;
    }
  }

  /**
   * Runs `call` with the custom search attributes, unless the cluster refused them lately: a cluster
   * without them still runs exports, the UI just cannot filter. Asked again a minute later: they may
   * just have been registered.
   */
  private async withSearchAttributes<T>(call: (withAttributes: boolean) => Promise<T>): Promise<T> {
    if (this.searchAttributes && Date.now() >= this.withoutSearchAttributesUntil) {
      try {
        return await call(true);
      } catch (err) {
        const said = `${(err as Error).message} ${String((err as Error).cause ?? '')}`;
        if (!/search attribute/i.test(said)) throw err;
        this.withoutSearchAttributesUntil = Date.now() + 60_000;
      }
    }
    return await call(false);
  }
}
