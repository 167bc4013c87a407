-- Big-data SMS tasks and drafts (大数据短信). The task spec itself lives in the NATS KV bucket
-- `alert_tasks`, which alerting watches and whose state alerting advances; this table is the
-- portal's list: who wrote it, the form as it was left (drafts may be incomplete), the spec that
-- was submitted and the last state and progress the portal saw.
CREATE TABLE IF NOT EXISTS bigdata_tasks (
  id text PRIMARY KEY,
  enterprise_id text NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
  account_id text REFERENCES accounts(id) ON DELETE SET NULL,
  account_name text NOT NULL DEFAULT '',
  state text NOT NULL CHECK (state IN ('draft', 'submitted', 'scheduled', 'running', 'paused', 'stopped', 'completed', 'rejected')),
  alert_type text NOT NULL DEFAULT 'other',
  subject text NOT NULL DEFAULT '',
  form jsonb NOT NULL DEFAULT '{}',
  spec jsonb,
  start_date text,
  end_date text,
  reason text NOT NULL DEFAULT '',
  -- The task this one was copied from (再次发送).
  copied_from text,
  progress jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  submitted_at timestamptz
);
CREATE INDEX IF NOT EXISTS bigdata_tasks_enterprise ON bigdata_tasks (enterprise_id, state, created_at DESC);
