/**
 * A new cluster's namespace made ready for the project: registered, known to every service, with the
 * search attributes registered and answering visibility queries.
 */
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { SearchAttributeType } from '../devserver';
import { poll } from '../devserver/poll';

const RETENTION = '1 day';
/** The gRPC status codes the set-up expects. */
const GRPC_STATUS = { NOT_FOUND: 5, ALREADY_EXISTS: 6 } as const;
const { IndexedValueType } = temporal.api.enums.v1;
const INDEXED_VALUE_TYPE: Record<SearchAttributeType, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Text: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/** Registers the namespace and search attributes, and waits until visibility answers queries on them. */
export async function prepareNamespace(connection: Connection, namespace: string, attributes: Record<string, SearchAttributeType>, deadline: number): Promise<void> {
  await registerNamespace(connection, namespace, deadline);
  await waitNamespaceKnown(connection, namespace, deadline);
  if (Object.keys(attributes).length === 0) return;
  await registerSearchAttributes(connection, namespace, attributes, deadline);
  // On SQL visibility the attributes are aliases in the namespace record, which every service's
  // namespace cache picks up within seconds; a query naming all of them passes once the frontend has.
  const query = Object.keys(attributes).map((name) => `${name} IS NULL`).join(' AND ');
  await poll('visibility queries on the search attributes', deadline, async () => {
    await connection.workflowService.countWorkflowExecutions({ namespace, query });
    return true;
  });
}

async function registerNamespace({ workflowService }: Connection, namespace: string, deadline: number): Promise<void> {
  await poll('namespace registration', deadline, async () => {
    try {
      await workflowService.describeNamespace({ namespace });
      return true;
    } catch (err) {
      if ((err as { code?: number }).code !== GRPC_STATUS.NOT_FOUND) throw err;
    }
    await workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(RETENTION) }).catch((err: { code?: number }) => {
      if (err.code !== GRPC_STATUS.ALREADY_EXISTS) throw err;
    });
    return false;
  });
}

/**
 * Each service caches namespaces and refreshes the cache every few seconds: waits until matching (a
 * task queue's description) and history (a workflow's) know a new one, so that a worker's first poll
 * and a client's first start are not refused with "namespace not found".
 */
async function waitNamespaceKnown({ workflowService }: Connection, namespace: string, deadline: number): Promise<void> {
  await poll('the namespace in matching and history', deadline, async () => {
    await workflowService.describeTaskQueue({ namespace, taskQueue: { name: 'readiness-probe' } });
    // "workflow not found" is the answer wanted; "Namespace … is not found" means not yet.
    await workflowService.describeWorkflowExecution({ namespace, execution: { workflowId: 'readiness-probe' } }).catch((err: { code?: number; details?: string }) => {
      if (err.code !== GRPC_STATUS.NOT_FOUND || /^Namespace .* not found/i.test(err.details ?? '')) throw err;
    });
    return true;
  });
}

async function registerSearchAttributes({ operatorService }: Connection, namespace: string, wanted: Record<string, SearchAttributeType>, deadline: number): Promise<void> {
  await poll('search attributes', deadline, async () => {
    const { customAttributes } = await operatorService.listSearchAttributes({ namespace });
    const missing = Object.entries(wanted).filter(([name]) => customAttributes?.[name] === undefined);
    if (missing.length === 0) return true;
    await operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED_VALUE_TYPE[type]])),
    });
    return false;
  });
}
