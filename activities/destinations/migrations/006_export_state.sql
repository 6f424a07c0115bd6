-- What the worker last knew of each export, beside its data: 'exporting' (more pages were ready),
-- 'caught-up' (the last page reached the end of the stream: a follow export polls on, a one-off export
-- is complete), 'retrying' (the last batch failed in a way asking again may mend), 'failed', or
-- 'needs-reauthorization' (the account's OAuth grant is lost; an admin reconnects it). A page's write
-- sets it in the page's transaction; a failure sets it when the batch ends.
CREATE TABLE IF NOT EXISTS zendesk_export_states (
  export_id  text PRIMARY KEY,
  account    text NOT NULL,
  resource   text NOT NULL,
  status     text NOT NULL,
  reason     text,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The view of 004, with the status appended (a view's existing columns keep their order).
CREATE OR REPLACE VIEW zendesk_export_status AS
WITH data AS (
  SELECT account, 'tickets' AS resource, count(*) AS records, max(version) AS newest_version, max(written_at) AS last_written_at FROM zendesk_tickets GROUP BY account
  UNION ALL
  SELECT account, 'users', count(*), max(version), max(written_at) FROM zendesk_users GROUP BY account
  UNION ALL
  SELECT account, 'organizations', count(*), max(version), max(written_at) FROM zendesk_organizations GROUP BY account
  UNION ALL
  SELECT account, 'ticket_events', count(*), max(version), max(written_at) FROM zendesk_ticket_events GROUP BY account
), checkpoints AS (
  -- Export IDs are `zendesk-export/<account>/<resource>/<endpoint>`; the newest checkpoint of each pair.
  SELECT DISTINCT ON (split_part(export_id, '/', 2), split_part(export_id, '/', 3))
    split_part(export_id, '/', 2) AS account, split_part(export_id, '/', 3) AS resource, position, page_number, updated_at
  FROM zendesk_export_checkpoints WHERE export_id LIKE 'zendesk-export/%'
  ORDER BY split_part(export_id, '/', 2), split_part(export_id, '/', 3), updated_at DESC
), states AS (
  -- The newest word on each pair, whichever of its endpoints it came from.
  SELECT DISTINCT ON (account, resource) account, resource, status, reason, updated_at
  FROM zendesk_export_states ORDER BY account, resource, updated_at DESC
), data_and_checkpoints AS (
  SELECT coalesce(d.account, c.account) AS account, coalesce(d.resource, c.resource) AS resource, d.records, d.newest_version, d.last_written_at,
    c.position, c.page_number, c.updated_at
  FROM data d FULL JOIN checkpoints c ON c.account = d.account AND c.resource = d.resource
)
SELECT
  coalesce(dc.account, s.account) AS account,
  coalesce(dc.resource, s.resource) AS resource,
  dc.position ->> 'endpoint' AS endpoint,
  to_timestamp(zendesk_bigint(dc.position -> 'next' -> 'startTime')) AS next_start_time,
  dc.position -> 'next' ->> 'cursor' AS next_cursor,
  dc.page_number AS pages_in_run,
  to_timestamp(dc.newest_version) AS newest_version_at,
  now() - to_timestamp(dc.newest_version) AS lag,
  coalesce(dc.records, 0) AS records,
  greatest(dc.updated_at, dc.last_written_at) AS last_batch_at,
  s.status,
  s.reason AS status_reason,
  s.updated_at AS status_at
FROM data_and_checkpoints dc FULL JOIN states s ON s.account = dc.account AND s.resource = dc.resource;
