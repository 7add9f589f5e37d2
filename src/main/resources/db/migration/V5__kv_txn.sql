-- Transactions (POST /txn). An event of a transaction names the revision of the transaction's last event, so a
-- replica that reads the log page by page knows whether the transaction is complete; NULL for single-key commands
-- (the transaction's id is the event's command_id).
ALTER TABLE kv_events ADD COLUMN txn_end bigint;
-- What a transaction did, so that a redelivery or a retry with the same Idempotency-Key gets the same answer:
-- 't' or 'f' (compares held or not), ':', then the revision of each change of the branch taken, comma-separated
-- (0: a delete of a missing key). NULL for single-key commands.
ALTER TABLE kv_commands ADD COLUMN txn_result text;
