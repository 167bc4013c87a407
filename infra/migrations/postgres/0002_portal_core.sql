-- Portal core: enterprises (集团), departments, accounts, sessions, login security, signatures,
-- API keys, operation and login logs, uploads, qualification documents, in-app messages, feedback.
-- Ids are text (UUIDs made by the portal) so that NATS contracts can carry them as strings.

CREATE TABLE IF NOT EXISTS enterprises (
  id text PRIMARY KEY,
  name text NOT NULL,
  -- 集团可发送量上限: SMS the whole enterprise may still send (billing segments).
  quota bigint NOT NULL DEFAULT 0 CHECK (quota >= 0),
  access_number text NOT NULL DEFAULT '',
  logo_upload_id text,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen')),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS departments (
  id text PRIMARY KEY,
  enterprise_id text NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
  -- RESTRICT: a department with children cannot be deleted (the API says why first).
  parent_id text REFERENCES departments(id) ON DELETE RESTRICT,
  name text NOT NULL,
  sort integer NOT NULL DEFAULT 0,
  remark text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS departments_enterprise ON departments (enterprise_id, parent_id);

CREATE TABLE IF NOT EXISTS accounts (
  id text PRIMARY KEY,
  -- NULL for platform operators, who belong to no enterprise.
  enterprise_id text REFERENCES enterprises(id) ON DELETE CASCADE,
  department_id text REFERENCES departments(id) ON DELETE RESTRICT,
  -- The login name, unique across the platform (case-insensitive).
  name text NOT NULL,
  display_name text NOT NULL DEFAULT '',
  phone text NOT NULL DEFAULT '',
  email text NOT NULL DEFAULT '',
  role text NOT NULL CHECK (role IN ('admin', 'sub', 'operator')),
  permissions jsonb NOT NULL DEFAULT '[]',
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen')),
  password_hash text NOT NULL,
  password_changed_at timestamptz NOT NULL DEFAULT now(),
  -- 我的可发送量上限; NULL means limited only by the enterprise's quota.
  quota bigint CHECK (quota IS NULL OR quota >= 0),
  default_signature_id text,
  remark text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((role = 'operator') = (enterprise_id IS NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS accounts_name ON accounts (lower(name));
CREATE INDEX IF NOT EXISTS accounts_enterprise ON accounts (enterprise_id, department_id);

CREATE TABLE IF NOT EXISTS sessions (
  -- sha256 of the cookie value: a database leak does not hand out live sessions.
  id_hash text PRIMARY KEY,
  account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  csrf_token text NOT NULL,
  ip text NOT NULL DEFAULT '',
  user_agent text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_account ON sessions (account_id);

CREATE TABLE IF NOT EXISTS captchas (
  id text PRIMARY KEY,
  answer text NOT NULL,
  expires_at timestamptz NOT NULL
);

-- Failed-login counters per key: 'acct:<lower name>' and 'ip:<address>'.
CREATE TABLE IF NOT EXISTS login_throttle (
  key text PRIMARY KEY,
  failures integer NOT NULL DEFAULT 0,
  window_start timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz
);

CREATE TABLE IF NOT EXISTS login_log (
  id bigserial PRIMARY KEY,
  enterprise_id text,
  account_id text,
  account_name text NOT NULL,
  ip text NOT NULL DEFAULT '',
  user_agent text NOT NULL DEFAULT '',
  success boolean NOT NULL,
  reason text NOT NULL DEFAULT '',
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS login_log_enterprise ON login_log (enterprise_id, at DESC);

CREATE TABLE IF NOT EXISTS op_log (
  id bigserial PRIMARY KEY,
  enterprise_id text,
  account_id text,
  account_name text NOT NULL DEFAULT '',
  action text NOT NULL,
  target text NOT NULL DEFAULT '',
  detail jsonb NOT NULL DEFAULT '{}',
  ip text NOT NULL DEFAULT '',
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS op_log_enterprise ON op_log (enterprise_id, at DESC);

CREATE TABLE IF NOT EXISTS signatures (
  id text PRIMARY KEY,
  enterprise_id text NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
  account_id text REFERENCES accounts(id) ON DELETE SET NULL,
  text text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
  reason text NOT NULL DEFAULT '',
  is_default boolean NOT NULL DEFAULT false,
  reviewed_by text,
  reviewed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS signatures_text ON signatures (enterprise_id, text);

CREATE TABLE IF NOT EXISTS api_keys (
  id text PRIMARY KEY,
  account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name text NOT NULL,
  -- Shown in lists so a person can tell keys apart; the secret itself is only stored hashed.
  prefix text NOT NULL,
  key_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_account ON api_keys (account_id);

-- Uploaded files live in the database: no file names on disk, so no path tricks.
CREATE TABLE IF NOT EXISTS uploads (
  id text PRIMARY KEY,
  enterprise_id text REFERENCES enterprises(id) ON DELETE CASCADE,
  account_id text,
  kind text NOT NULL,
  file_name text NOT NULL,
  content_type text NOT NULL,
  size integer NOT NULL,
  data bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS qualifications (
  id text PRIMARY KEY,
  enterprise_id text NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
  upload_id text NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
  title text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
  reason text NOT NULL DEFAULT '',
  reviewed_by text,
  reviewed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS messages (
  id text PRIMARY KEY,
  enterprise_id text REFERENCES enterprises(id) ON DELETE CASCADE,
  account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  kind text NOT NULL DEFAULT 'notice',
  title text NOT NULL,
  body text NOT NULL DEFAULT '',
  read_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS messages_account ON messages (account_id, created_at DESC);

CREATE TABLE IF NOT EXISTS feedback (
  id text PRIMARY KEY,
  enterprise_id text NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
  account_id text REFERENCES accounts(id) ON DELETE SET NULL,
  content text NOT NULL,
  contact text NOT NULL DEFAULT '',
  reply text NOT NULL DEFAULT '',
  replied_by text,
  replied_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
