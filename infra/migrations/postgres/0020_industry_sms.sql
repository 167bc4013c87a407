-- Industry SMS (行业短信): personal and enterprise address books, templates, drafts, sends (sent,
-- queued and scheduled), their recipients, extension numbers for replies, parsed uploads, inbox.
-- Ids are text (UUIDs made by the portal), as in 0002_portal_core.

-- 个人通讯录 groups: a tree per account. RESTRICT: the API refuses (with the reason) to delete a
-- group that still has subgroups or contacts; the constraint is the last line of defence.
CREATE TABLE IF NOT EXISTS contact_groups (
  id text PRIMARY KEY,
  enterprise_id text NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
  account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  parent_id text REFERENCES contact_groups(id) ON DELETE RESTRICT,
  name text NOT NULL,
  sort integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS contact_groups_name ON contact_groups (account_id, coalesce(parent_id, ''), name);

-- One table for both books: book = 'personal' (owned by account_id) or 'enterprise' (the
-- enterprise's book, filed under departments). A contact in no group/department is in 未分配组.
CREATE TABLE IF NOT EXISTS contacts (
  id text PRIMARY KEY,
  enterprise_id text NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
  book text NOT NULL CHECK (book IN ('personal', 'enterprise')),
  account_id text REFERENCES accounts(id) ON DELETE CASCADE,
  name text NOT NULL,
  phone text NOT NULL,
  gender text NOT NULL DEFAULT '' CHECK (gender IN ('', 'male', 'female')),
  birthday text NOT NULL DEFAULT '',
  email text NOT NULL DEFAULT '',
  company text NOT NULL DEFAULT '',
  title text NOT NULL DEFAULT '',
  address text NOT NULL DEFAULT '',
  remark text NOT NULL DEFAULT '',
  -- 设置排序: smaller first, then by name.
  sort integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((book = 'personal') = (account_id IS NOT NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS contacts_personal_phone ON contacts (account_id, phone) WHERE book = 'personal';
CREATE UNIQUE INDEX IF NOT EXISTS contacts_enterprise_phone ON contacts (enterprise_id, phone) WHERE book = 'enterprise';
CREATE INDEX IF NOT EXISTS contacts_enterprise ON contacts (enterprise_id, book);

CREATE TABLE IF NOT EXISTS contact_group_members (
  contact_id text NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  group_id text NOT NULL REFERENCES contact_groups(id) ON DELETE RESTRICT,
  PRIMARY KEY (contact_id, group_id)
);
CREATE INDEX IF NOT EXISTS contact_group_members_group ON contact_group_members (group_id);

-- Enterprise-book contacts filed under departments (several allowed). Departments belong to the
-- core; deleting one leaves its contacts in 未分配组 rather than blocking the core's delete.
CREATE TABLE IF NOT EXISTS contact_department_members (
  contact_id text NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  department_id text NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
  PRIMARY KEY (contact_id, department_id)
);
CREATE INDEX IF NOT EXISTS contact_department_members_dept ON contact_department_members (department_id);

-- 短信模版
CREATE TABLE IF NOT EXISTS sms_templates (
  id text PRIMARY KEY,
  enterprise_id text NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
  account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  title text NOT NULL,
  content text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS sms_templates_account ON sms_templates (account_id, updated_at DESC);

-- 草稿箱: what the send page held, as the page sends it.
CREATE TABLE IF NOT EXISTS sms_drafts (
  id text PRIMARY KEY,
  enterprise_id text NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
  account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  mode text NOT NULL DEFAULT 'normal' CHECK (mode IN ('normal', 'batch', 'merge')),
  subject text NOT NULL DEFAULT '',
  content text NOT NULL DEFAULT '',
  payload jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS sms_drafts_account ON sms_drafts (account_id, updated_at DESC);

-- One row per send. state: scheduled (定时发件箱, balance reserved) → queued (recorded and charged,
-- jobs not yet all published) → sent (every job published to SMS_JOBS); cancelled (a deleted
-- scheduled send, refunded). A queued send is published by the dispatcher after a restart too.
CREATE TABLE IF NOT EXISTS sms_sends (
  id text PRIMARY KEY,
  enterprise_id text NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
  account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  mode text NOT NULL CHECK (mode IN ('normal', 'batch', 'merge')),
  via text NOT NULL DEFAULT 'web' CHECK (via IN ('web', 'api')),
  subject text NOT NULL,
  -- For a mail-merge send, the first message (each recipient's own text is in sms_send_recipients).
  content text NOT NULL,
  signature_id text,
  signature text NOT NULL,
  recipients_count integer NOT NULL,
  billing_count integer NOT NULL,
  extension text,
  forward_to text,
  state text NOT NULL CHECK (state IN ('scheduled', 'queued', 'sent', 'cancelled')),
  scheduled_at timestamptz,
  -- Entries the sender chose to leave out (invalid or duplicate), kept so nothing disappears unseen.
  rejected jsonb NOT NULL DEFAULT '[]',
  -- What the send page needs to open this send again (编辑重发): typed text, picked groups/contacts.
  source jsonb NOT NULL DEFAULT '{}',
  published integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE INDEX IF NOT EXISTS sms_sends_enterprise ON sms_sends (enterprise_id, created_at DESC);
CREATE INDEX IF NOT EXISTS sms_sends_due ON sms_sends (state, scheduled_at);

CREATE TABLE IF NOT EXISTS sms_send_recipients (
  send_id text NOT NULL REFERENCES sms_sends(id) ON DELETE CASCADE,
  seq integer NOT NULL,
  msisdn text NOT NULL,
  carrier text NOT NULL,
  name text NOT NULL DEFAULT '',
  -- Only for mail-merge sends: this recipient's own text.
  content text,
  PRIMARY KEY (send_id, seq)
);
CREATE INDEX IF NOT EXISTS sms_send_recipients_msisdn ON sms_send_recipients (msisdn);

-- Extension numbers (扩展码) of sends that need a reply: unique per enterprise while live.
CREATE TABLE IF NOT EXISTS sms_extensions (
  enterprise_id text NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
  extension text NOT NULL,
  send_id text NOT NULL REFERENCES sms_sends(id) ON DELETE CASCADE,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (enterprise_id, extension)
);

-- Parsed batch / mail-merge uploads waiting to be sent (kept a day).
CREATE TABLE IF NOT EXISTS sms_upload_lists (
  id text PRIMARY KEY,
  enterprise_id text NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
  account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('batch', 'merge')),
  file_name text NOT NULL,
  total_rows integer NOT NULL,
  -- batch: ["138…", …]; merge: [["138…", "text"], …]
  items jsonb NOT NULL,
  rejected jsonb NOT NULL DEFAULT '[]',
  duplicates integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- 收件箱: replies (MO), one row per reply id (idempotent under redelivery).
CREATE TABLE IF NOT EXISTS sms_inbox (
  id text PRIMARY KEY,
  enterprise_id text NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
  account_id text,
  send_id text REFERENCES sms_sends(id) ON DELETE SET NULL,
  from_msisdn text NOT NULL,
  to_number text NOT NULL,
  text text NOT NULL,
  forwarded_to text,
  received_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS sms_inbox_enterprise ON sms_inbox (enterprise_id, received_at DESC);
