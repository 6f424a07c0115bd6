-- The run's progress beside the checkpoint: a run retried after a crash resumes at the last page written.
ALTER TABLE zendesk_export_checkpoints ADD COLUMN IF NOT EXISTS run jsonb;
