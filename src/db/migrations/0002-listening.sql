-- Listening tests (ITU-T P.800 ACR/DCR/CCR, screened as in P.808). Audio is stored once per
-- content hash; a rater rates each clip at most once (UNIQUE), so a resubmission never doubles.
CREATE TABLE listening_audio (
  sha256      text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  bytes       bytea NOT NULL,
  sample_rate integer NOT NULL CHECK (sample_rate > 0),
  duration_s  double precision NOT NULL CHECK (duration_s > 0)
);

CREATE TABLE listening_test (
  id         serial PRIMARY KEY,
  name       text NOT NULL,
  method     text NOT NULL CHECK (method IN ('acr', 'dcr', 'ccr')),
  seed       bigint NOT NULL,
  source     text,
  settings   jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE listening_clip (
  id              serial PRIMARY KEY,
  test_id         integer NOT NULL REFERENCES listening_test (id) ON DELETE CASCADE,
  name            text NOT NULL,
  condition       text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('test', 'training', 'gold', 'trap', 'hearing')),
  audio_sha256    text NOT NULL REFERENCES listening_audio (sha256),
  reference_sha256 text REFERENCES listening_audio (sha256),
  expected_score  smallint,
  tolerance       smallint,
  answer          text,
  position        integer NOT NULL,
  UNIQUE (test_id, name),
  UNIQUE (test_id, position)
);

CREATE TABLE listening_rater (
  id                serial PRIMARY KEY,
  test_id           integer NOT NULL REFERENCES listening_test (id) ON DELETE CASCADE,
  rater_key         text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  hearing_attempts  integer NOT NULL DEFAULT 0,
  hearing_passed_at timestamptz,
  finished_at       timestamptz,
  UNIQUE (test_id, rater_key)
);

CREATE TABLE listening_rating (
  id        serial PRIMARY KEY,
  rater_id  integer NOT NULL REFERENCES listening_rater (id) ON DELETE CASCADE,
  clip_id   integer NOT NULL REFERENCES listening_clip (id) ON DELETE CASCADE,
  score     smallint NOT NULL CHECK (score BETWEEN -3 AND 5),
  rated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (rater_id, clip_id)
);

CREATE INDEX listening_clip_test ON listening_clip (test_id, kind);
