-- The relay's wait for the lead (Outbox.awaitLead): in the database's queue for the advisory lock, so a standby is
-- granted it the moment the leader's session ends, for at most wait_ms. A wait that runs out is caught here: a standby
-- waits again and again for as long as the leader lives, and the server would otherwise log an error for each wait.
-- The lock is session-level, so it outlives the statement that took it.
CREATE FUNCTION kv_await_lead(lock_key text, wait_ms integer) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('lock_timeout', wait_ms::text, true);
    PERFORM pg_advisory_lock(hashtext(lock_key));
    RETURN true;
EXCEPTION WHEN lock_not_available THEN
    RETURN false;
END
$$;
