-- Tables analysts can query without JSON operators, all computed from the exact records already stored
-- as jsonb: typed columns generated from `record`, custom fields as a long table, comments and field
-- changes from the ticket events. A database written by 0.2.1 gains them in place, filled from what it
-- holds, without a request to Zendesk. Records may be hostile: every conversion gives NULL for a value
-- it cannot read, never an error that would refuse the page.

-- Record tables: one current row per record, keyed by (account, id); also used for sideload tables.
CREATE OR REPLACE FUNCTION zendesk_create_record_table(name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I (
    account    text   NOT NULL,
    id         bigint NOT NULL,
    version    bigint NOT NULL,
    record     jsonb  NOT NULL,
    export_id  text   NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account, id))', name);
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I (account, version)', name || '_version', name);
END $$;
SELECT zendesk_create_record_table(t) FROM unnest(ARRAY['zendesk_tickets', 'zendesk_users', 'zendesk_organizations', 'zendesk_ticket_events']) AS t;

-- Conversions for generated columns: IMMUTABLE, and NULL for anything they cannot read.
CREATE OR REPLACE FUNCTION zendesk_bigint(v jsonb) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN jsonb_typeof(v) IN ('number', 'string') AND (v #>> '{}') ~ '^-?[0-9]{1,18}$' THEN (v #>> '{}')::bigint END
$$;
CREATE OR REPLACE FUNCTION zendesk_bool(v jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN jsonb_typeof(v) = 'boolean' THEN v = 'true'::jsonb END
$$;
CREATE OR REPLACE FUNCTION zendesk_text_array(v jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN jsonb_typeof(v) = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(v)) END
$$;
-- Zendesk writes times as ISO-8601 UTC (`2026-11-28T10:00:00Z`). Only that form is read, so the cast
-- depends on neither TimeZone nor DateStyle: immutable in truth, though the cast alone is only stable.
CREATE OR REPLACE FUNCTION zendesk_time(v jsonb) RETURNS timestamptz LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$' THEN
    RETURN (v #>> '{}')::timestamptz;
  END IF;
  RETURN NULL;
EXCEPTION WHEN others THEN
  RETURN NULL; -- A date that does not exist, such as February 30th.
END $$;

ALTER TABLE zendesk_tickets
  ADD COLUMN IF NOT EXISTS created_at      timestamptz GENERATED ALWAYS AS (zendesk_time(record -> 'created_at')) STORED,
  ADD COLUMN IF NOT EXISTS updated_at      timestamptz GENERATED ALWAYS AS (zendesk_time(record -> 'updated_at')) STORED,
  ADD COLUMN IF NOT EXISTS status          text        GENERATED ALWAYS AS (record ->> 'status') STORED,
  ADD COLUMN IF NOT EXISTS priority        text        GENERATED ALWAYS AS (record ->> 'priority') STORED,
  ADD COLUMN IF NOT EXISTS type            text        GENERATED ALWAYS AS (record ->> 'type') STORED,
  ADD COLUMN IF NOT EXISTS subject         text        GENERATED ALWAYS AS (record ->> 'subject') STORED,
  ADD COLUMN IF NOT EXISTS requester_id    bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'requester_id')) STORED,
  ADD COLUMN IF NOT EXISTS assignee_id     bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'assignee_id')) STORED,
  ADD COLUMN IF NOT EXISTS group_id        bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'group_id')) STORED,
  ADD COLUMN IF NOT EXISTS organization_id bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'organization_id')) STORED,
  ADD COLUMN IF NOT EXISTS tags            text[]      GENERATED ALWAYS AS (zendesk_text_array(record -> 'tags')) STORED,
  -- Deleted tickets stay in the export stream with the status `deleted`.
  ADD COLUMN IF NOT EXISTS deleted         boolean     GENERATED ALWAYS AS (coalesce(record ->> 'status' = 'deleted', false)) STORED;
CREATE INDEX IF NOT EXISTS zendesk_tickets_status ON zendesk_tickets (account, status);

ALTER TABLE zendesk_users
  ADD COLUMN IF NOT EXISTS name            text        GENERATED ALWAYS AS (record ->> 'name') STORED,
  ADD COLUMN IF NOT EXISTS email           text        GENERATED ALWAYS AS (record ->> 'email') STORED,
  ADD COLUMN IF NOT EXISTS role            text        GENERATED ALWAYS AS (record ->> 'role') STORED,
  ADD COLUMN IF NOT EXISTS active          boolean     GENERATED ALWAYS AS (zendesk_bool(record -> 'active')) STORED,
  ADD COLUMN IF NOT EXISTS organization_id bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'organization_id')) STORED,
  ADD COLUMN IF NOT EXISTS created_at      timestamptz GENERATED ALWAYS AS (zendesk_time(record -> 'created_at')) STORED,
  ADD COLUMN IF NOT EXISTS updated_at      timestamptz GENERATED ALWAYS AS (zendesk_time(record -> 'updated_at')) STORED,
  -- A deleted user stays in the export with active: false.
  ADD COLUMN IF NOT EXISTS deleted         boolean     GENERATED ALWAYS AS (coalesce(zendesk_bool(record -> 'active') = false, false)) STORED;

ALTER TABLE zendesk_organizations
  ADD COLUMN IF NOT EXISTS name            text        GENERATED ALWAYS AS (record ->> 'name') STORED,
  ADD COLUMN IF NOT EXISTS domain_names    text[]      GENERATED ALWAYS AS (zendesk_text_array(record -> 'domain_names')) STORED,
  ADD COLUMN IF NOT EXISTS group_id        bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'group_id')) STORED,
  ADD COLUMN IF NOT EXISTS created_at      timestamptz GENERATED ALWAYS AS (zendesk_time(record -> 'created_at')) STORED,
  ADD COLUMN IF NOT EXISTS updated_at      timestamptz GENERATED ALWAYS AS (zendesk_time(record -> 'updated_at')) STORED,
  ADD COLUMN IF NOT EXISTS deleted_at      timestamptz GENERATED ALWAYS AS (zendesk_time(record -> 'deleted_at')) STORED,
  ADD COLUMN IF NOT EXISTS deleted         boolean     GENERATED ALWAYS AS (zendesk_time(record -> 'deleted_at') IS NOT NULL) STORED;

ALTER TABLE zendesk_ticket_events
  ADD COLUMN IF NOT EXISTS ticket_id  bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'ticket_id')) STORED,
  ADD COLUMN IF NOT EXISTS created_at timestamptz GENERATED ALWAYS AS (zendesk_time(record -> 'created_at')) STORED,
  ADD COLUMN IF NOT EXISTS updater_id bigint      GENERATED ALWAYS AS (zendesk_bigint(record -> 'updater_id')) STORED;

-- Derived tables: rebuilt from the stored records by the functions below, in the page's transaction.
CREATE TABLE IF NOT EXISTS zendesk_ticket_custom_fields (
  account    text   NOT NULL,
  ticket_id  bigint NOT NULL,
  field_id   bigint NOT NULL,
  value      text,
  value_json jsonb,
  PRIMARY KEY (account, ticket_id, field_id)
);
CREATE TABLE IF NOT EXISTS zendesk_ticket_comments (
  account    text   NOT NULL,
  id         bigint NOT NULL,
  ticket_id  bigint,
  event_id   bigint NOT NULL,
  author_id  bigint,
  public     boolean,
  body       text,
  created_at timestamptz,
  PRIMARY KEY (account, id)
);
CREATE INDEX IF NOT EXISTS zendesk_ticket_comments_ticket ON zendesk_ticket_comments (account, ticket_id, created_at);
CREATE TABLE IF NOT EXISTS zendesk_ticket_field_changes (
  account        text   NOT NULL,
  id             bigint NOT NULL, -- the child event's id
  field          text   NOT NULL,
  ticket_id      bigint,
  event_id       bigint NOT NULL,
  value          text,
  previous_value text,
  created_at     timestamptz,
  updater_id     bigint,
  via            text,
  PRIMARY KEY (account, id, field)
);
CREATE INDEX IF NOT EXISTS zendesk_ticket_field_changes_ticket ON zendesk_ticket_field_changes (account, ticket_id, field, created_at);

-- The child events of an event, or none when Zendesk sent something other than an array.
CREATE OR REPLACE FUNCTION zendesk_child_events(record jsonb) RETURNS SETOF jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT c FROM jsonb_array_elements(CASE WHEN jsonb_typeof(record -> 'child_events') = 'array' THEN record -> 'child_events' ELSE '[]' END) AS c
  WHERE jsonb_typeof(c) = 'object' AND zendesk_bigint(c -> 'id') IS NOT NULL
$$;

-- Functions keyed by account and ids, so that a page's call reads its rows by primary key.
-- A ticket's custom fields as its current row holds them: replaced whole, per ticket.
CREATE OR REPLACE FUNCTION zendesk_derive_ticket_custom_fields(p_account text, p_ids bigint[]) RETURNS void LANGUAGE sql AS $$
  DELETE FROM zendesk_ticket_custom_fields WHERE account = p_account AND ticket_id = ANY (p_ids);
  INSERT INTO zendesk_ticket_custom_fields (account, ticket_id, field_id, value, value_json)
  SELECT DISTINCT ON (t.account, t.id, zendesk_bigint(f -> 'id')) t.account, t.id, zendesk_bigint(f -> 'id'), f -> 'value' #>> '{}', f -> 'value'
  FROM zendesk_tickets t
  CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(t.record -> 'custom_fields') = 'array' THEN t.record -> 'custom_fields' ELSE '[]' END) AS f
  WHERE t.account = p_account AND t.id = ANY (p_ids)
    AND jsonb_typeof(f) = 'object' AND zendesk_bigint(f -> 'id') IS NOT NULL;
$$;

-- Comments (child events of type Comment, sent with include=comment_events) and field changes (every
-- other field of a Change or Create child event) of the given ticket events.
-- A field set to null counts only when the child event says what it was before.
CREATE OR REPLACE FUNCTION zendesk_derive_ticket_events(p_account text, p_ids bigint[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO zendesk_ticket_comments (account, id, ticket_id, event_id, author_id, public, body, created_at)
  SELECT DISTINCT ON (e.account, zendesk_bigint(c -> 'id'))
    e.account, zendesk_bigint(c -> 'id'), e.ticket_id, e.id, zendesk_bigint(c -> 'author_id'), zendesk_bool(c -> 'public'), c ->> 'body',
    coalesce(zendesk_time(c -> 'created_at'), e.created_at)
  FROM zendesk_ticket_events e CROSS JOIN LATERAL zendesk_child_events(e.record) AS c
  WHERE e.account = p_account AND e.id = ANY (p_ids) AND c ->> 'event_type' = 'Comment'
  ON CONFLICT (account, id) DO UPDATE SET ticket_id = excluded.ticket_id, event_id = excluded.event_id, author_id = excluded.author_id,
    public = excluded.public, body = excluded.body, created_at = excluded.created_at;

  INSERT INTO zendesk_ticket_field_changes (account, id, field, ticket_id, event_id, value, previous_value, created_at, updater_id, via)
  SELECT DISTINCT ON (e.account, zendesk_bigint(c -> 'id'), f.key)
    e.account, zendesk_bigint(c -> 'id'), f.key, e.ticket_id, e.id, f.value #>> '{}', c -> 'previous_value' #>> '{}',
    coalesce(zendesk_time(c -> 'created_at'), e.created_at), e.updater_id, coalesce(c ->> 'via', e.record ->> 'via')
  FROM zendesk_ticket_events e CROSS JOIN LATERAL zendesk_child_events(e.record) AS c CROSS JOIN LATERAL jsonb_each(c) AS f
  WHERE e.account = p_account AND e.id = ANY (p_ids) AND c ->> 'event_type' IN ('Change', 'Create')
    AND f.key NOT IN ('id', 'type', 'event_type', 'via', 'via_reference_id', 'previous_value', 'created_at', 'comment_present', 'comment_public')
    AND (f.value <> 'null'::jsonb OR c ? 'previous_value')
  ON CONFLICT (account, id, field) DO UPDATE SET ticket_id = excluded.ticket_id, event_id = excluded.event_id, value = excluded.value,
    previous_value = excluded.previous_value, created_at = excluded.created_at, updater_id = excluded.updater_id, via = excluded.via;
$$;

-- What 0.2.1 stored gets its derived rows now.
SELECT zendesk_derive_ticket_custom_fields(account, array_agg(id)) FROM zendesk_tickets GROUP BY account;
SELECT zendesk_derive_ticket_events(account, array_agg(id)) FROM zendesk_ticket_events GROUP BY account;

-- How fresh each table is, per account and resource: the export's position (its latest checkpoint),
-- the newest record version written and how far behind now it is, records held, the last batch.
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
)
SELECT
  coalesce(d.account, c.account) AS account,
  coalesce(d.resource, c.resource) AS resource,
  c.position ->> 'endpoint' AS endpoint,
  to_timestamp(zendesk_bigint(c.position -> 'next' -> 'startTime')) AS next_start_time,
  c.position -> 'next' ->> 'cursor' AS next_cursor,
  c.page_number AS pages_in_run,
  to_timestamp(d.newest_version) AS newest_version_at,
  now() - to_timestamp(d.newest_version) AS lag,
  coalesce(d.records, 0) AS records,
  greatest(c.updated_at, d.last_written_at) AS last_batch_at
FROM data d FULL JOIN checkpoints c ON c.account = d.account AND c.resource = d.resource;
