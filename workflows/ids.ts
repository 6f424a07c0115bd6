/** Names shared by the client and the worker. Pure. */
import type { EndpointId, Resource } from '../zendesk/endpoints';

/** The task queue every export runs on, unless configured otherwise. */
export const DEFAULT_TASK_QUEUE = 'zendesk-export';

/** One export per account, resource and endpoint: `zendesk-export/acme/tickets/tickets_cursor`. */
export function exportWorkflowId(account: string, resource: Resource, endpoint: EndpointId): string {
  return `zendesk-export/${account}/${resource}/${endpoint}`;
}

/** The account's coordinator, which shares the account's rate budget: `zendesk-account/acme`. */
export function coordinatorWorkflowId(account: string): string {
  return `zendesk-account/${account}`;
}

/** Custom search attributes, so the Temporal UI can filter exports (all Keyword). */
export const SEARCH_ATTRIBUTE_NAMES = {
  account: 'ZendeskAccount',
  resource: 'ZendeskResource',
  endpoint: 'ZendeskEndpoint',
  status: 'ZendeskExportStatus',
} as const;
