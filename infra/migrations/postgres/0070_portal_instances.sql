-- Several portal instances on one PostgreSQL server (#19). Work one instance must do alone is
-- claimed with a lease (owner, until): the owner renews it while it works; once it has expired
-- (the owner was killed) another instance takes it over or fails it. portal/src/jobs/instance.ts.

-- Publishing a queued send: the claim keeps a second dispatcher off it; `published` says where a
-- taker-over resumes.
ALTER TABLE sms_sends ADD COLUMN IF NOT EXISTS dispatch_owner text;
ALTER TABLE sms_sends ADD COLUMN IF NOT EXISTS dispatch_until timestamptz;

-- Address-book imports and batch / mail-merge file checks (import-jobs.ts), which lived in the
-- memory of the instance that took the upload: their progress and result, readable from any
-- instance, and the lease of the instance running them. A job whose lease expired while running
-- is failed with a message saying so (the file is not kept, so it cannot be resumed).
CREATE TABLE IF NOT EXISTS portal_jobs (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('contacts', 'batch', 'merge')),
  enterprise_id text NOT NULL,
  account_id text NOT NULL,
  file_name text NOT NULL,
  phase text NOT NULL CHECK (phase IN ('reading', 'importing', 'done', 'failed')),
  rows integer NOT NULL DEFAULT 0,
  processed integer NOT NULL DEFAULT 0,
  imported integer NOT NULL DEFAULT 0,
  rejected_total integer NOT NULL DEFAULT 0,
  rejected jsonb NOT NULL DEFAULT '[]',
  error jsonb,
  upload jsonb,
  owner text NOT NULL,
  lease_until timestamptz NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX IF NOT EXISTS portal_jobs_running ON portal_jobs (lease_until) WHERE phase IN ('reading', 'importing');
CREATE INDEX IF NOT EXISTS portal_jobs_finished ON portal_jobs (finished_at);
