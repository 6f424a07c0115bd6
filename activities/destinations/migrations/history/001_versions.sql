-- Every version of tickets, users and organizations beside the current row, for a target whose worker
-- keeps history (ZENDESK_EXPORT_HISTORY). Applied once, when such a worker first reaches the database:
-- the tables start with the version each record has then, and every page adds its records' versions, in
-- the page's transaction, each (account, id, version) once. The typed columns are the current table's.
CREATE OR REPLACE FUNCTION zendesk_create_versions_table(current_table text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I (LIKE %I INCLUDING DEFAULTS INCLUDING GENERATED, PRIMARY KEY (account, id, version))',
    current_table || '_versions', current_table);
  EXECUTE format('INSERT INTO %I (account, id, version, record, export_id, written_at) SELECT account, id, version, record, export_id, written_at FROM %I
    ON CONFLICT DO NOTHING', current_table || '_versions', current_table);
END $$;
SELECT zendesk_create_versions_table(t) FROM unnest(ARRAY['zendesk_tickets', 'zendesk_users', 'zendesk_organizations']) AS t;
