-- The gateway records a command as pending (outcome NULL) before it publishes it, so that a
-- command it answered 202 for is known from that moment; an id never sent is unknown (404).
ALTER TABLE processed_command ALTER COLUMN outcome DROP NOT NULL;
