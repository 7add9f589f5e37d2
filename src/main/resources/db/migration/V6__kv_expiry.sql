-- Expiring keys (PUT /values/{key}?ttl=S). A value's deadline, NULL for a permanent one: a put sets it (or clears
-- it), the delete removes the row with it. Workers look for due keys by the partial index, which holds only the
-- keys with a deadline.
ALTER TABLE kv_values ADD COLUMN expires_at timestamptz;
CREATE INDEX kv_values_expires_at ON kv_values (expires_at) WHERE expires_at IS NOT NULL;
-- The events say it too, so that a replica or stream client that reads the log sees what the published event said:
-- a put's deadline, and true on the delete that expired a key (NULL otherwise).
ALTER TABLE kv_events ADD COLUMN expires_at timestamptz, ADD COLUMN expired boolean;
