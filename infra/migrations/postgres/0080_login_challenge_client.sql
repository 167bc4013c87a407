-- Issue 17: the pending second login step belongs to the client that passed the first (address and
-- browser); a challenge seen elsewhere (a log, a shoulder) cannot be finished from another machine.
ALTER TABLE login_challenges ADD COLUMN IF NOT EXISTS user_agent text NOT NULL DEFAULT '';
