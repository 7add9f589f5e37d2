-- The request fingerprint of a command whose id the client chose (Idempotency-Key): a later command with the same
-- id and the same fingerprint is a retry and gets the first outcome; another fingerprint means the key was reused
-- for another request (422). NULL for kvstream's own command ids. Compacted with the events, like the rest of the row.
ALTER TABLE kv_commands ADD COLUMN fingerprint text;
