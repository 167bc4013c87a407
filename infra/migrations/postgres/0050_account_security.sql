-- Account security (issue 17): TOTP second factor with hashed one-time recovery codes, the
-- pending second step of a login, and who created a sub-account (its "own sub-accounts").

-- The confirmed TOTP secret (base32) and the last 30-second step accepted, so that one code is
-- never accepted twice (RFC 6238 §5.2). NULL secret: no second factor.
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS totp_secret text;
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS totp_enabled_at timestamptz;
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS totp_last_step bigint;
-- An enrolment started and not yet confirmed with a code from the app.
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS totp_pending_secret text;
-- The account that created this one through account management (NULL: seeded or the enterprise's
-- first admin). Subordinates are the accounts below one's department and one's own sub-accounts.
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS created_by text;

-- SHA-256 of each one-time recovery code (random, 60 bits: a fast hash is enough).
CREATE TABLE IF NOT EXISTS recovery_codes (
  account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  code_hash text NOT NULL,
  used_at timestamptz,
  PRIMARY KEY (account_id, code_hash)
);

-- A login that passed the password and waits for its second step: a TOTP code ('totp') or the
-- enrolment an operator must complete first ('enrol'). The token is given to the browser once;
-- only its hash is kept.
CREATE TABLE IF NOT EXISTS login_challenges (
  id_hash text PRIMARY KEY,
  account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  purpose text NOT NULL CHECK (purpose IN ('totp', 'enrol')),
  attempts integer NOT NULL DEFAULT 0,
  ip text NOT NULL DEFAULT '',
  expires_at timestamptz NOT NULL
);
