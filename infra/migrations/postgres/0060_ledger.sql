-- One ledger of quota (invariant 9). `enterprises.quota` and `accounts.quota` stay the running
-- balances every reader already uses; every change to either writes an entry here in the same
-- statement (triggers below), so the balance and the sum of its entries cannot disagree, whoever
-- changes it. The portal's ledger module labels its own changes (charge, reserve, refund, release)
-- through transaction-local settings; any other change (an operator setting a quota) is a top-up
-- or an adjustment. Amounts are billing units (segments), signed.
CREATE TABLE IF NOT EXISTS quota_ledger (
  id bigserial PRIMARY KEY,
  enterprise_id text NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
  -- Whose balance moved: the enterprise's (集团可发送量) or an account's own limit (我的可发送量).
  balance_of text NOT NULL CHECK (balance_of IN ('enterprise', 'account')),
  -- The account whose own limit moved, or (enterprise entries) the account whose send it was.
  -- No foreign key: entries outlive nothing, and accounts are deactivated, never erased.
  account_id text,
  kind text NOT NULL CHECK (kind IN ('opening', 'topup', 'adjust', 'limit', 'charge', 'reserve', 'refund', 'release')),
  amount bigint NOT NULL,
  -- The balance after this entry; NULL when an account's own limit was removed.
  balance_after bigint,
  -- What the entry is for: an industry send, a big-data task, or nothing (operator changes).
  ref_kind text NOT NULL DEFAULT '' CHECK (ref_kind IN ('', 'industry', 'bigdata')),
  ref_id text NOT NULL DEFAULT '',
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS quota_ledger_enterprise ON quota_ledger (enterprise_id, id DESC);
CREATE INDEX IF NOT EXISTS quota_ledger_ref ON quota_ledger (ref_kind, ref_id) WHERE ref_id <> '';

CREATE OR REPLACE FUNCTION quota_ledger_label(name text, dflt text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('geo.ledger_' || name, true), ''), dflt)
$$;

CREATE OR REPLACE FUNCTION quota_ledger_enterprise() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO quota_ledger (enterprise_id, balance_of, account_id, kind, amount, balance_after, ref_kind, ref_id)
  VALUES (NEW.id, 'enterprise', nullif(quota_ledger_label('account', ''), ''),
          CASE WHEN TG_OP = 'INSERT' THEN 'opening' ELSE quota_ledger_label('kind', CASE WHEN NEW.quota > OLD.quota THEN 'topup' ELSE 'adjust' END) END,
          NEW.quota - CASE WHEN TG_OP = 'INSERT' THEN 0 ELSE OLD.quota END, NEW.quota,
          quota_ledger_label('ref_kind', ''), quota_ledger_label('ref_id', ''));
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION quota_ledger_account() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  before bigint := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.quota END;
BEGIN
  IF NEW.enterprise_id IS NULL THEN RETURN NULL; END IF;
  INSERT INTO quota_ledger (enterprise_id, balance_of, account_id, kind, amount, balance_after, ref_kind, ref_id)
  VALUES (NEW.enterprise_id, 'account', NEW.id,
          CASE WHEN TG_OP = 'INSERT' THEN 'opening'
               WHEN before IS NULL OR NEW.quota IS NULL THEN 'limit'
               ELSE quota_ledger_label('kind', CASE WHEN NEW.quota > before THEN 'topup' ELSE 'adjust' END) END,
          coalesce(NEW.quota, 0) - coalesce(before, 0), NEW.quota,
          quota_ledger_label('ref_kind', ''), quota_ledger_label('ref_id', ''));
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS quota_ledger_enterprise_insert ON enterprises;
CREATE TRIGGER quota_ledger_enterprise_insert AFTER INSERT ON enterprises FOR EACH ROW WHEN (NEW.quota <> 0) EXECUTE FUNCTION quota_ledger_enterprise();
DROP TRIGGER IF EXISTS quota_ledger_enterprise_update ON enterprises;
CREATE TRIGGER quota_ledger_enterprise_update AFTER UPDATE OF quota ON enterprises FOR EACH ROW WHEN (OLD.quota IS DISTINCT FROM NEW.quota) EXECUTE FUNCTION quota_ledger_enterprise();
DROP TRIGGER IF EXISTS quota_ledger_account_insert ON accounts;
CREATE TRIGGER quota_ledger_account_insert AFTER INSERT ON accounts FOR EACH ROW WHEN (NEW.quota IS NOT NULL) EXECUTE FUNCTION quota_ledger_account();
DROP TRIGGER IF EXISTS quota_ledger_account_update ON accounts;
CREATE TRIGGER quota_ledger_account_update AFTER UPDATE OF quota ON accounts FOR EACH ROW WHEN (OLD.quota IS DISTINCT FROM NEW.quota) EXECUTE FUNCTION quota_ledger_account();

-- Balances that existed before the ledger open it.
INSERT INTO quota_ledger (enterprise_id, balance_of, kind, amount, balance_after)
  SELECT id, 'enterprise', 'opening', quota, quota FROM enterprises e
   WHERE quota <> 0 AND NOT EXISTS (SELECT 1 FROM quota_ledger l WHERE l.enterprise_id = e.id AND l.balance_of = 'enterprise');
INSERT INTO quota_ledger (enterprise_id, balance_of, account_id, kind, amount, balance_after)
  SELECT enterprise_id, 'account', id, 'opening', quota, quota FROM accounts a
   WHERE quota IS NOT NULL AND enterprise_id IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM quota_ledger l WHERE l.account_id = a.id AND l.balance_of = 'account');

-- A big-data task's reservation: its per-carrier totals times the billing units of one message,
-- taken from the ledger when it is submitted; when the task ends, what it did not send is released
-- (settled_at set in the same transaction as the release, so it happens once).
CREATE TABLE IF NOT EXISTS bigdata_reservations (
  task_id text PRIMARY KEY,
  enterprise_id text NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
  account_id text NOT NULL,
  per_message integer NOT NULL CHECK (per_message > 0),
  units bigint NOT NULL CHECK (units >= 0),
  used bigint,
  settled_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS bigdata_reservations_open ON bigdata_reservations (created_at) WHERE settled_at IS NULL;

-- Accounts are deactivated, never erased: their sends, tasks and ledger entries stay, shown under
-- their name. A deactivated account cannot log in (frozen) and holds no sessions or keys.
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS deleted_at timestamptz;

CREATE OR REPLACE FUNCTION deactivate_account(target text) RETURNS void LANGUAGE sql AS $$
  UPDATE accounts SET status = 'frozen', deleted_at = coalesce(deleted_at, now()), updated_at = now() WHERE id = target;
  DELETE FROM sessions WHERE account_id = target;
  DELETE FROM api_keys WHERE account_id = target;
$$;

-- The last line of defence: deleting an account of a live enterprise deactivates it instead (the
-- enterprise's own deletion still removes everything with it).
CREATE OR REPLACE FUNCTION accounts_never_erased() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.enterprise_id IS NULL OR NOT EXISTS (SELECT 1 FROM enterprises WHERE id = OLD.enterprise_id) THEN
    RETURN OLD;
  END IF;
  PERFORM deactivate_account(OLD.id);
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS accounts_never_erased ON accounts;
CREATE TRIGGER accounts_never_erased BEFORE DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION accounts_never_erased();

-- A deleted account keeps its department (department heads still see its history) until the
-- department itself is deleted; then it is detached rather than blocking the delete.
CREATE OR REPLACE FUNCTION departments_detach_deleted_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE accounts SET department_id = NULL WHERE department_id = OLD.id AND deleted_at IS NOT NULL;
  RETURN OLD;
END $$;
DROP TRIGGER IF EXISTS departments_detach_deleted_accounts ON departments;
CREATE TRIGGER departments_detach_deleted_accounts BEFORE DELETE ON departments FOR EACH ROW EXECUTE FUNCTION departments_detach_deleted_accounts();
