-- One row: the global revision counter (etcd's model). Every committing transaction locks this row,
-- which gives all workers one total, gap-free order of changes.
CREATE TABLE kv_meta (
    id       smallint PRIMARY KEY CHECK (id = 1),
    revision bigint   NOT NULL  -- last committed revision
);
INSERT INTO kv_meta (id, revision) VALUES (1, 0);

-- The relay's own row, apart from kv_meta: updating it must never wait for the revision lock
-- that the committing worker holds.
CREATE TABLE kv_relay (
    id                 smallint PRIMARY KEY CHECK (id = 1),
    relayed_revision   bigint   NOT NULL,  -- last revision published to the events exchange
    compacted_revision bigint   NOT NULL   -- stored events with revision <= this are gone
);
INSERT INTO kv_relay (id, relayed_revision, compacted_revision) VALUES (1, 0, 0);

CREATE TABLE kv_values (
    key          text COLLATE "C" PRIMARY KEY,
    value        text   NOT NULL,
    mod_revision bigint NOT NULL
);

-- Transactional outbox and history: written in the same transaction as the value change.
CREATE TABLE kv_events (
    revision   bigint PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('value_put', 'value_deleted')),
    key        text        NOT NULL,
    value      text,
    command_id text        NOT NULL,
    at         timestamptz NOT NULL
);

-- Commands already committed, so a redelivered command changes nothing and gets its first answer again.
CREATE TABLE kv_commands (
    id       text PRIMARY KEY,
    status   text   NOT NULL,
    revision bigint NOT NULL
);
CREATE INDEX kv_commands_revision ON kv_commands (revision);
