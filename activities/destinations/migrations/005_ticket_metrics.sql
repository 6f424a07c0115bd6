-- Ticket metrics, from the metric_sets sideload of ticket exports (`--include metric_sets`). The exact
-- sets stay in zendesk_tickets__metric_sets, as every sideload does, one row per set, the newest version
-- (by updated_at) winning; typed columns are generated from them, and zendesk_ticket_metrics names them
-- for analysts. A database that holds metric sets already (written by 0.2.1 or 0.3.0) gets them filled.
SELECT zendesk_create_record_table('zendesk_tickets__metric_sets');

-- Zendesk gives durations in minutes, as {"calendar": n, "business": n}.
ALTER TABLE zendesk_tickets__metric_sets
  ADD COLUMN IF NOT EXISTS ticket_id                          bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'ticket_id')) STORED,
  ADD COLUMN IF NOT EXISTS reopens                            bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'reopens')) STORED,
  ADD COLUMN IF NOT EXISTS replies                            bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'replies')) STORED,
  ADD COLUMN IF NOT EXISTS assignee_stations                  bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'assignee_stations')) STORED,
  ADD COLUMN IF NOT EXISTS group_stations                     bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'group_stations')) STORED,
  ADD COLUMN IF NOT EXISTS reply_time_calendar_minutes        bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'reply_time_in_minutes' -> 'calendar')) STORED,
  ADD COLUMN IF NOT EXISTS reply_time_business_minutes        bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'reply_time_in_minutes' -> 'business')) STORED,
  ADD COLUMN IF NOT EXISTS first_resolution_calendar_minutes  bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'first_resolution_time_in_minutes' -> 'calendar')) STORED,
  ADD COLUMN IF NOT EXISTS first_resolution_business_minutes  bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'first_resolution_time_in_minutes' -> 'business')) STORED,
  ADD COLUMN IF NOT EXISTS full_resolution_calendar_minutes   bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'full_resolution_time_in_minutes' -> 'calendar')) STORED,
  ADD COLUMN IF NOT EXISTS full_resolution_business_minutes   bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'full_resolution_time_in_minutes' -> 'business')) STORED,
  ADD COLUMN IF NOT EXISTS agent_wait_calendar_minutes        bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'agent_wait_time_in_minutes' -> 'calendar')) STORED,
  ADD COLUMN IF NOT EXISTS agent_wait_business_minutes        bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'agent_wait_time_in_minutes' -> 'business')) STORED,
  ADD COLUMN IF NOT EXISTS requester_wait_calendar_minutes    bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'requester_wait_time_in_minutes' -> 'calendar')) STORED,
  ADD COLUMN IF NOT EXISTS requester_wait_business_minutes    bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'requester_wait_time_in_minutes' -> 'business')) STORED,
  ADD COLUMN IF NOT EXISTS on_hold_calendar_minutes           bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'on_hold_time_in_minutes' -> 'calendar')) STORED,
  ADD COLUMN IF NOT EXISTS on_hold_business_minutes           bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'on_hold_time_in_minutes' -> 'business')) STORED,
  ADD COLUMN IF NOT EXISTS initially_assigned_at              timestamptz GENERATED ALWAYS AS (zendesk_time(record -> 'initially_assigned_at')) STORED,
  ADD COLUMN IF NOT EXISTS assigned_at                        timestamptz GENERATED ALWAYS AS (zendesk_time(record -> 'assigned_at')) STORED,
  ADD COLUMN IF NOT EXISTS solved_at                          timestamptz GENERATED ALWAYS AS (zendesk_time(record -> 'solved_at')) STORED,
  ADD COLUMN IF NOT EXISTS latest_comment_added_at            timestamptz GENERATED ALWAYS AS (zendesk_time(record -> 'latest_comment_added_at')) STORED,
  ADD COLUMN IF NOT EXISTS status_updated_at                  timestamptz GENERATED ALWAYS AS (zendesk_time(record -> 'status_updated_at')) STORED,
  ADD COLUMN IF NOT EXISTS created_at                         timestamptz GENERATED ALWAYS AS (zendesk_time(record -> 'created_at')) STORED,
  ADD COLUMN IF NOT EXISTS updated_at                         timestamptz GENERATED ALWAYS AS (zendesk_time(record -> 'updated_at')) STORED;
CREATE INDEX IF NOT EXISTS zendesk_tickets__metric_sets_ticket ON zendesk_tickets__metric_sets (account, ticket_id);

CREATE OR REPLACE VIEW zendesk_ticket_metrics AS
SELECT account, id, ticket_id, reopens, replies, assignee_stations, group_stations,
  reply_time_calendar_minutes, reply_time_business_minutes, first_resolution_calendar_minutes, first_resolution_business_minutes,
  full_resolution_calendar_minutes, full_resolution_business_minutes, agent_wait_calendar_minutes, agent_wait_business_minutes,
  requester_wait_calendar_minutes, requester_wait_business_minutes, on_hold_calendar_minutes, on_hold_business_minutes,
  initially_assigned_at, assigned_at, solved_at, latest_comment_added_at, status_updated_at, created_at, updated_at,
  version, written_at, record
FROM zendesk_tickets__metric_sets;
