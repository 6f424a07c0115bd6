/**
 * Workflow IDs and other names shared by the client and the worker. Each ID is built here and taken
 * apart here, nowhere else. Pure.
 */
import { isAccountName } from '../zendesk/account';
import { endpointSpec, isEndpointId, isResource, type EndpointId, type Resource } from '../zendesk/endpoints';

/** The task queue every export runs on, unless configured otherwise. */
export const DEFAULT_TASK_QUEUE = 'zendesk-export';

const EXPORT_PREFIX = 'zendesk-export/';
const COORDINATOR_PREFIX = 'zendesk-account/';

/** One export per account, resource and endpoint: `zendesk-export/acme/tickets/tickets_cursor`. */
export function exportWorkflowId(account: string, resource: Resource, endpoint: EndpointId): string {
  return `${EXPORT_PREFIX}${account}/${resource}/${endpoint}`;
}

/** The parts of an export's workflow ID, or undefined for an ID that is not one. */
export function parseExportWorkflowId(workflowId: string): { account: string; resource: Resource; endpoint: EndpointId } | undefined {
  if (!workflowId.startsWith(EXPORT_PREFIX)) return undefined;
  const [account, resource, endpoint, ...rest] = workflowId.slice(EXPORT_PREFIX.length).split('/');
  if (rest.length || !isAccountName(account) || !isResource(resource) || !isEndpointId(endpoint)) return undefined;
  if (!(endpointSpec(endpoint).resources as readonly string[]).includes(resource)) return undefined;
  return { account, resource, endpoint };
}

/** The prefix of every export ID of an account (for listing); the name is checked first. */
export function accountExportPrefix(account?: string): string {
  return account === undefined ? EXPORT_PREFIX : `${EXPORT_PREFIX}${account}/`;
}

/** The account's coordinator, which shares the account's rate budget: `zendesk-account/acme`. */
export function coordinatorWorkflowId(account: string): string {
  return `${COORDINATOR_PREFIX}${account}`;
}

/** Custom search attributes, so the Temporal UI can filter exports (all Keyword). */
export const SEARCH_ATTRIBUTE_NAMES = {
  account: 'ZendeskAccount',
  resource: 'ZendeskResource',
  endpoint: 'ZendeskEndpoint',
  status: 'ZendeskExportStatus',
} as const;

/**
 * Memo keys, readable with describe() and list() when no worker runs: an ended export's state and
 * input; the exports a coordinator was started for, until a worker has taken them in (pending).
 */
export const MEMO = { state: 'exportState', input: 'exportInput', requested: 'requestedExports' } as const;
