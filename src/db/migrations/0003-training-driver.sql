-- Who plays a training's sessions: the collection worker's own browsers in lab hosts ('worker'), or a
-- person's browser on the /player page ('person'). The worker never claims sessions of a 'person'
-- training; a person's first claim turns a 'worker' training into a 'person' one.
ALTER TABLE training ADD COLUMN driver text NOT NULL DEFAULT 'worker' CHECK (driver IN ('worker', 'person'));
