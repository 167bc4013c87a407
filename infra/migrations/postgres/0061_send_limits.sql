-- Per-account send rate limits (#17, abuse controls), set by the platform operator: the platform's
-- default (account_id = '') and per-account overrides. NULL = no limit of that kind. They apply to
-- industry sends only: big-data alert tasks (public warnings) are exempt by rule, bounded instead
-- by their per-carrier totals and daily caps.
CREATE TABLE IF NOT EXISTS send_rate_limits (
  account_id text PRIMARY KEY,
  sends_per_minute integer CHECK (sends_per_minute IS NULL OR sends_per_minute > 0),
  numbers_per_minute integer CHECK (numbers_per_minute IS NULL OR numbers_per_minute > 0),
  numbers_per_day integer CHECK (numbers_per_day IS NULL OR numbers_per_day > 0),
  updated_by text NOT NULL DEFAULT '',
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- The platform default: a script or a stolen API key cannot fire more than one send a second.
INSERT INTO send_rate_limits (account_id, sends_per_minute) VALUES ('', 60) ON CONFLICT (account_id) DO NOTHING;
CREATE INDEX IF NOT EXISTS sms_sends_account_time ON sms_sends (account_id, created_at DESC);
-- The ledger's refund pass looks at the sends of the last days (portal/src/api/ledger/refunds.ts).
CREATE INDEX IF NOT EXISTS sms_sends_sent_at ON sms_sends (sent_at) WHERE state = 'sent';
-- What the limits held back, per account and day (Asia/Shanghai): the operator's count of refusals.
CREATE TABLE IF NOT EXISTS send_rate_held (
  account_id text NOT NULL,
  day date NOT NULL,
  sends integer NOT NULL DEFAULT 0,
  numbers bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, day)
);
