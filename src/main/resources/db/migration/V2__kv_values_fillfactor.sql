-- A value update writes a new row version. With free room on its page PostgreSQL keeps that version on the same
-- page (a HOT update: no new index entry, fewer pages dirtied between checkpoints); with full pages, the default,
-- every update of a large table lands on another page and adds an index entry (bench/scale.sh: 1M keys).
-- Takes effect for pages written from now on; VACUUM FULL kv_values applies it to an existing table.
ALTER TABLE kv_values SET (fillfactor = 80);
