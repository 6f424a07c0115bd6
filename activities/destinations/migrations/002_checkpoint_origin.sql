-- Checkpoints name the export start (origin) too, so a new start of the same export is not held back
-- by the page numbers of an older one.
ALTER TABLE zendesk_export_checkpoints ADD COLUMN IF NOT EXISTS origin text NOT NULL DEFAULT '';
