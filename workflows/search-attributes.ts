/** The custom search attributes of an export, so the Temporal UI can filter by them. Pure. */
import { defineSearchAttributeKey, SearchAttributeType, type TypedSearchAttributes } from '@temporalio/common';
import { SEARCH_ATTRIBUTE_NAMES } from './ids';
import type { ExportStatus } from './types';

export const searchAttributeKeys = {
  account: defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.account, SearchAttributeType.KEYWORD),
  resource: defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.resource, SearchAttributeType.KEYWORD),
  endpoint: defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.endpoint, SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey(SEARCH_ATTRIBUTE_NAMES.status, SearchAttributeType.KEYWORD),
};

/** The attributes an export starts with. */
export function exportSearchAttributes(
  input: { account: string; resource: string; endpoint: string },
  status: ExportStatus = 'starting',
): ConstructorParameters<typeof TypedSearchAttributes>[0] {
  return [
    { key: searchAttributeKeys.account, value: input.account },
    { key: searchAttributeKeys.resource, value: input.resource },
    { key: searchAttributeKeys.endpoint, value: input.endpoint },
    { key: searchAttributeKeys.status, value: status },
  ];
}

/** The attributes of an account's coordinator. */
export function coordinatorSearchAttributes(account: string): ConstructorParameters<typeof TypedSearchAttributes>[0] {
  return [{ key: searchAttributeKeys.account, value: account }];
}
