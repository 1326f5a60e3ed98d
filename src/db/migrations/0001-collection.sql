-- Video QoE collection: a training asks for N videos x a session duration x bandwidth limits;
-- each session plays one video under one limit. Status values are the seed's: -1 not captured,
-- 0 under capturing, 1 captured.
CREATE TABLE training (
  id               serial PRIMARY KEY,
  name             text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  number_of_videos integer NOT NULL CHECK (number_of_videos > 0),
  bw_limitations   double precision[] NOT NULL,
  session_duration integer NOT NULL CHECK (session_duration > 0),
  has_finished     boolean NOT NULL DEFAULT false,
  warmup           integer NOT NULL DEFAULT 20 CHECK (warmup >= 0),
  source           text NOT NULL DEFAULT 'local',
  source_config    jsonb NOT NULL DEFAULT '{}'::jsonb,
  seed             bigint NOT NULL DEFAULT 1,
  state            text NOT NULL DEFAULT 'pending',
  slots            integer NOT NULL DEFAULT 1 CHECK (slots > 0),
  max_attempts     integer NOT NULL DEFAULT 3 CHECK (max_attempts > 0),
  impairment       jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE TABLE session (
  id               serial PRIMARY KEY,
  name             text NOT NULL,
  training_id      integer NOT NULL REFERENCES training (id) ON DELETE CASCADE,
  position         integer NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  url              text,
  channel          text,
  status           smallint NOT NULL DEFAULT -1 CHECK (status IN (-1, 0, 1)),
  bw_limitation    double precision NOT NULL CHECK (bw_limitation > 0),
  application_data jsonb,
  network_data     jsonb,
  labels           jsonb,
  attempts         integer NOT NULL DEFAULT 0,
  error_reason     text,
  worker           text,
  heartbeat_at     timestamptz,
  capture_file     text,
  capture_size     bigint,
  UNIQUE (training_id, position)
);

CREATE INDEX session_training_status ON session (training_id, status);
