-- Reads at a revision look up a key's last change at or before a revision (GET /values/{key}?revision=R), and
-- compaction keeps each key's last value at the compacted revision: both walk one key's events in revision order.
CREATE INDEX kv_events_key_revision ON kv_events (key COLLATE "C", revision);
