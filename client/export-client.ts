/**
 * The API that applications embed (the CLI is a thin layer over it): start exports of any of the
 * seven endpoints, follow their progress, pause, resume, cancel, resume a stopped export, list an
 * account's exports.
 */
import { Client, Connection, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { coordinatorWorkflowId, DEFAULT_TASK_QUEUE, exportWorkflowId } from '../workflows/ids';
import { exportInputQuery, pauseSignal, progressQuery, resumeSignal, startExportSignal } from '../workflows/messages';
import { coordinatorSearchAttributes } from '../workflows/search-attributes';
import type { ExportInput, ExportResult, ExportState } from '../workflows/types';
import type { accountCoordinator, exportResource } from '../workflows';
import { resolveTemporalOptions, type TemporalOptions } from './connection';
import { toExportInput, UserError, type ExportRequest } from './request';

/** What `list` and `status` report of an export. */
export interface ExportSummary {
  workflowId: string;
  /** Temporal's status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, ... */
  temporalStatus: string;
  startTime: Date;
  closeTime?: Date;
  /** Why the page in hand is being retried, if it is (e.g. Zendesk unreachable). */
  retrying?: string;
}

export interface ExportClientOptions {
  client: Client;
  /** @default "zendesk-export" */
  taskQueue?: string;
  /** How long `start` waits for a worker to pick the export up. @default 30000 */
  startTimeoutMs?: number;
  /**
   * Tag exports with the custom search attributes (ZendeskAccount, ...), so the UI can filter them.
   * A cluster that lacks them is detected and the tags dropped. @default true
   */
  searchAttributes?: boolean;
}

/** A running or finished export. */
export class ExportHandle {
  /** Signals, queries and cancellation go to the newest run, whichever continue-as-new made it. */
  private readonly latest: WorkflowHandle<typeof exportResource>;
  /** Results follow the run this handle was made for through its continue-as-new chain. */
  private readonly run: WorkflowHandle<typeof exportResource>;

  constructor(
    /** The workflow's business ID, e.g. `zendesk-export/acme/tickets/tickets_cursor`. */
    readonly workflowId: string,
    client: Client,
    runId?: string,
    /** True when `start` found this export already running and returned it instead. */
    readonly alreadyRunning = false,
  ) {
    this.latest = client.workflow.getHandle<typeof exportResource>(workflowId);
    this.run = runId ? client.workflow.getHandle<typeof exportResource>(workflowId, runId) : this.latest;
  }

  /** Position, counts and status. Works while running and after it stopped (a worker must be up). */
  progress(): Promise<ExportState> {
    return this.latest.query(progressQuery);
  }
  pause(): Promise<void> {
    return this.latest.signal(pauseSignal);
  }
  resume(): Promise<void> {
    return this.latest.signal(resumeSignal);
  }
  /** Stops the export; `result()` then says where it stopped. */
  async cancel(): Promise<void> {
    await this.latest.cancel();
  }
  /** Waits for the export to end: completed, or cancelled with its position. Throws on failure. */
  result(): Promise<ExportResult> {
    return this.run.result();
  }
  async describe(): Promise<ExportSummary> {
    const d = await this.latest.describe();
    const pending = d.raw.pendingActivities?.find((a) => (a.attempt ?? 0) > 1 && a.lastFailure?.message);
    return {
      workflowId: this.workflowId,
      temporalStatus: d.status.name,
      startTime: d.startTime,
      closeTime: d.closeTime,
      retrying: pending ? `attempt ${pending.attempt}: ${pending.lastFailure!.message}` : undefined,
    };
  }
}

export class ExportClient {
  readonly taskQueue: string;
  private readonly startTimeoutMs: number;
  private searchAttributes: boolean;

  constructor(private readonly options: ExportClientOptions) {
    this.taskQueue = options.taskQueue ?? DEFAULT_TASK_QUEUE;
    this.startTimeoutMs = options.startTimeoutMs ?? 30_000;
    this.searchAttributes = options.searchAttributes ?? true;
  }

  /** Connects to Temporal with flags, the environment and env-config profiles (see TemporalOptions). */
  static async connect(options: TemporalOptions = {}): Promise<ExportClient> {
    const resolved = resolveTemporalOptions(options);
    let connection: Connection;
    try {
      connection = await Connection.connect({ ...resolved.connectionOptions, connectTimeout: 10_000 });
    } catch {
      throw new UserError(`Cannot reach Temporal at ${resolved.address}: start a server (npm start, or temporal server start-dev) or set TEMPORAL_ADDRESS.`);
    }
    return new ExportClient({ client: new Client({ connection, namespace: resolved.namespace }), taskQueue: resolved.taskQueue });
  }

  get client(): Client {
    return this.options.client;
  }

  /**
   * Starts an export through the account's coordinator, which shares the account's rate budget
   * between its exports. Idempotent by workflow ID: if the same account and endpoint is already
   * being exported, returns that export with `alreadyRunning` set and starts nothing.
   */
  start(request: ExportRequest): Promise<ExportHandle> {
    return this.startInput(toExportInput(request));
  }

  /** Exports several resources of one account at once; they share the account's budget. */
  async startMany(requests: readonly ExportRequest[]): Promise<ExportHandle[]> {
    const inputs = requests.map((r) => toExportInput(r)); // All checked before any starts.
    const handles: ExportHandle[] = [];
    for (const input of inputs) handles.push(await this.startInput(input)); // One coordinator start, then signals.
    return handles;
  }

  /** Starts an export from a complete workflow input (advanced: resumes and tools). */
  async startInput(input: ExportInput): Promise<ExportHandle> {
    const workflowId = exportWorkflowId(input.account, input.resource, input.endpoint);
    const previous = await this.describeRun(workflowId);
    if (previous?.status.name === 'RUNNING') {
      return new ExportHandle(workflowId, this.client, previous.runId, true);
    }
    await this.signalCoordinator(input);
    // The coordinator starts the export; wait for the new run, so the caller gets a live handle.
    const deadline = Date.now() + this.startTimeoutMs;
    for (let delay = 50; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
      const current = await this.describeRun(workflowId);
      if (current && current.runId !== previous?.runId) {
        return new ExportHandle(workflowId, this.client, current.runId);
      }
      await new Promise((r) => setTimeout(r, delay));
    }
    throw new UserError(
      `No worker started export ${workflowId} within ${this.startTimeoutMs / 1000}s: is "zendesk-export worker" running on task queue "${this.taskQueue}"?`,
    );
  }

  /** The export of an account, resource and endpoint (running or not). */
  handle(workflowId: string): ExportHandle {
    return new ExportHandle(workflowId, this.client);
  }

  /**
   * Resumes a stopped, cancelled or failed export from where it stopped, as a new run with the same
   * workflow ID, the same destination and the same page numbering (so nothing is written twice).
   */
  async resumeStopped(workflowId: string, changes: Partial<Pick<ExportInput, 'followIntervalSeconds' | 'budget'>> = {}): Promise<ExportHandle> {
    const running = await this.runningHandle(workflowId);
    if (running) throw new UserError(`Export ${workflowId} is still running; pause or cancel it first.`);
    const old = this.client.workflow.getHandle<typeof exportResource>(workflowId);
    let input: ExportInput;
    let state: ExportState;
    try {
      [input, state] = await Promise.all([old.query(exportInputQuery), old.query(progressQuery)]);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new UserError(`There is no export ${workflowId} to resume.`);
      throw err;
    }
    return this.startInput({ ...input, ...changes, state: { ...state, paused: false } });
  }

  /** The exports of an account (or of all accounts), newest first. */
  async list(account?: string): Promise<ExportSummary[]> {
    const prefix = account ? `zendesk-export/${account}/` : 'zendesk-export/';
    const out: ExportSummary[] = [];
    for await (const w of this.client.workflow.list({ query: `WorkflowType = 'exportResource' AND WorkflowId STARTS_WITH '${prefix}'` })) {
      out.push({ workflowId: w.workflowId, temporalStatus: w.status.name, startTime: w.startTime, closeTime: w.closeTime });
    }
    // One line per export: the newest run of each workflow ID.
    const newest = new Map<string, ExportSummary>();
    for (const s of out.sort((a, b) => b.startTime.getTime() - a.startTime.getTime())) if (!newest.has(s.workflowId)) newest.set(s.workflowId, s);
    return [...newest.values()];
  }

  async close(): Promise<void> {
    await this.client.connection.close();
  }

  private async runningHandle(workflowId: string): Promise<ExportHandle | undefined> {
    const d = await this.describeRun(workflowId);
    return d?.status.name === 'RUNNING' ? this.handle(workflowId) : undefined;
  }

  /** The newest run of a workflow ID, or undefined when there is none. */
  private async describeRun(workflowId: string) {
    try {
      return await this.client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  private async signalCoordinator(input: ExportInput): Promise<void> {
    const start = (withAttributes: boolean) =>
      this.client.workflow.signalWithStart<typeof accountCoordinator, [ExportInput]>('accountCoordinator', {
        workflowId: coordinatorWorkflowId(input.account),
        taskQueue: this.taskQueue,
        args: [{ account: input.account, budgets: {} }],
        signal: startExportSignal,
        signalArgs: [input],
        typedSearchAttributes: withAttributes ? coordinatorSearchAttributes(input.account) : undefined,
        staticSummary: `Zendesk account ${input.account}: shares its rate budget between its exports`,
      });
    if (this.searchAttributes) {
      try {
        await start(true);
        return;
      } catch (err) {
        // A cluster without the custom search attributes: exports still run, the UI just cannot filter.
        const said = `${(err as Error).message} ${String((err as Error).cause ?? '')}`;
        if (!/search attribute/i.test(said)) throw err;
        this.searchAttributes = false;
      }
    }
    await start(false);
  }
}
