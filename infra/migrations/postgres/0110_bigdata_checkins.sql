-- Check-ins of alert tasks (#21 "People answer back"): an alert may ask "回复1表示安全，回复2表示需要
-- 帮助". The task gets its own reply extension (5 digits from 9: industry sends take 4 digits, so the
-- two pools never meet); answers are matched to the task by it and to the person by the replying
-- number, and recorded once per reply.
CREATE TABLE IF NOT EXISTS bigdata_checkins (
  task_id text PRIMARY KEY REFERENCES bigdata_tasks(id) ON DELETE CASCADE,
  enterprise_id text NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
  extension text NOT NULL,
  -- [{ code, label, help }]
  options jsonb NOT NULL,
  -- Answers from this time on are not recorded (messaging counts them checkin_closed).
  closes_at timestamptz NOT NULL,
  -- The extension is given to no other task before this (late answers are told apart from faults).
  held_until timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS bigdata_checkins_extension ON bigdata_checkins (extension, held_until);

CREATE TABLE IF NOT EXISTS bigdata_checkin_replies (
  -- Messaging's replyId: the same MO delivered twice is recorded once.
  reply_id text PRIMARY KEY,
  task_id text NOT NULL REFERENCES bigdata_checkins(task_id) ON DELETE CASCADE,
  msisdn text NOT NULL,
  carrier text NOT NULL,
  text text NOT NULL,
  -- The option's code, NULL when the reply chose none (unrecognised, kept).
  answer text,
  received_at timestamptz NOT NULL,
  -- Where the person was when the alert was sent to them (alerting's claim log): pending until
  -- looked up, then known (with the cell's position) or unknown.
  area text NOT NULL DEFAULT 'pending' CHECK (area IN ('pending', 'known', 'unknown')),
  cell_lat double precision,
  cell_lng double precision
);
CREATE INDEX IF NOT EXISTS bigdata_checkin_replies_task ON bigdata_checkin_replies (task_id, msisdn, received_at);
CREATE INDEX IF NOT EXISTS bigdata_checkin_replies_pending ON bigdata_checkin_replies (area) WHERE area = 'pending';
