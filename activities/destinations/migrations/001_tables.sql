-- One table per resource; sideloads get tables of their own, created on first use (see postgres.ts).
CREATE TABLE IF NOT EXISTS zendesk_export_checkpoints (
  export_id   text PRIMARY KEY,
  page_number integer NOT NULL,
  position    jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
