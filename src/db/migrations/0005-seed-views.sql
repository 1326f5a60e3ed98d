-- The seed's tables under the seed's names, for SQL clients (psql: SELECT * FROM web_training;).
-- Read-only views over training and session: bandwidth limits as the seed's comma string, the
-- player's and the network's data as JSON text.
CREATE VIEW web_training AS
SELECT
  id,
  name,
  created_at,
  finished_at,
  number_of_videos,
  array_to_string(bw_limitations, ',') AS bw_limitations,
  session_duration,
  has_finished
FROM training;

CREATE VIEW web_session AS
SELECT
  id,
  name,
  training_id,
  url,
  status,
  bw_limitation,
  application_data::text AS application_data,
  network_data::text AS network_data,
  created_at,
  started_at,
  finished_at
FROM session;
