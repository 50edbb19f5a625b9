-- How often a worker has taken the task to read it: a file that breaks every reader is
-- failed after a few tries instead of being taken over forever.
ALTER TABLE import_task ADD COLUMN read_attempts integer NOT NULL DEFAULT 0;
