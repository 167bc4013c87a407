-- Issue 21: maker-checker approval of big-data tasks. With the enterprise's setting on, a submitted
-- task waits as pending_approval (待审批, its cost reserved at submit) until another account of the
-- enterprise with bigdata.approve approves it (then it goes to alerting) or rejects it (the
-- reservation is released). An alert type the enterprise lists in fast_path_types may be sent at
-- once and approved afterwards (approval = 'fast_path', clearly marked). Off by default.
CREATE TABLE IF NOT EXISTS bigdata_approval_settings (
  enterprise_id text PRIMARY KEY REFERENCES enterprises(id) ON DELETE CASCADE,
  required boolean NOT NULL DEFAULT false,
  fast_path_types jsonb NOT NULL DEFAULT '[]',
  updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE bigdata_tasks DROP CONSTRAINT IF EXISTS bigdata_tasks_state_check;
ALTER TABLE bigdata_tasks ADD CONSTRAINT bigdata_tasks_state_check
  CHECK (state IN ('draft', 'pending_approval', 'submitted', 'scheduled', 'running', 'paused', 'stopped', 'completed', 'rejected'));
-- none: no approval asked; pending: waiting; fast_path: sent at once, approval pending afterwards;
-- approved / rejected: decided (by whom, when, why below).
ALTER TABLE bigdata_tasks ADD COLUMN IF NOT EXISTS approval text NOT NULL DEFAULT 'none'
  CHECK (approval IN ('none', 'pending', 'fast_path', 'approved', 'rejected'));
ALTER TABLE bigdata_tasks ADD COLUMN IF NOT EXISTS fast_path boolean NOT NULL DEFAULT false;
ALTER TABLE bigdata_tasks ADD COLUMN IF NOT EXISTS approved_by text REFERENCES accounts(id) ON DELETE SET NULL;
ALTER TABLE bigdata_tasks ADD COLUMN IF NOT EXISTS approved_by_name text NOT NULL DEFAULT '';
ALTER TABLE bigdata_tasks ADD COLUMN IF NOT EXISTS approved_at timestamptz;
ALTER TABLE bigdata_tasks ADD COLUMN IF NOT EXISTS approval_reason text NOT NULL DEFAULT '';
