package io.kvstream.storage;

import java.sql.SQLException;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.Stream;

import io.helidon.dbclient.DbClient;
import io.helidon.dbclient.DbRow;
import io.helidon.dbclient.DbTransaction;
import io.kvstream.domain.Command;
import io.kvstream.domain.CommandOutcome;
import io.kvstream.domain.DomainEvent;

/**
 * Commits a batch of commands in one PostgreSQL transaction (group commit). The transaction first locks the revision
 * counter row, so concurrent workers commit one after the other and revisions form one gap-free total order.
 * Parameters travel as arrays, so a batch of hundreds of commands costs the same two round trips as a batch of
 * one: lock and read, then write and commit. A batch whose decision needs nothing stored but the revision, taken by the
 * committer that wrote last, costs one: a write guarded by that revision, and the commit ({@link #commitDecidedAt}).
 */
public final class BatchStore {
    /** The id of the one row of {@code kv_meta}, and one that no row has (a rehearsal updates nothing). */
    private static final int META_ROW = 1;
    private static final int NO_META_ROW = 0;
    private static final String STATE = "SELECT 'c', id, status, revision, fingerprint, txn_result FROM kv_commands"
                                        + " WHERE id = ANY(?) UNION ALL"
                                        + " SELECT 'v', key, NULL, mod_revision, NULL, NULL FROM kv_values"
                                        + " WHERE key = ANY(?)"
                                        + " AND (expires_at IS NULL OR expires_at > CAST(? AS timestamptz))";

    /** Whether the guard of {@link #GUARDED_WRITE} held: each of its parts writes only then. */
    private static final String GUARD_HELD = "EXISTS (SELECT 1 FROM guard)";

    /** Every write of a batch in one statement; it returns no rows, so that a COMMIT may follow it in one string. */
    private static final String WRITE = "WITH " + changes(false) + ","
            + " commands AS (" + recordCommands(false) + ")"
            + " UPDATE kv_meta SET revision = ? WHERE id = ?";
    /**
     * {@link #WRITE} for a batch decided without reading: the guard locks the revision counter and moves it only if
     * it still holds the revision the batch was decided at and none of the batch's command ids is recorded; each part
     * writes only if it did. The lock is taken before any row of {@code kv_values} (the parts read the guard first),
     * as in every other write. A revision moved while this statement waited for the lock fails the guard, as the lock's
     * holder commits (the row is read again under the lock); the ids are read in the statement's snapshot, and no
     * commit records a command without moving the revision too. Its update count is the number of commands recorded.
     */
    private static final String GUARDED_WRITE = "WITH guard AS (UPDATE kv_meta SET revision = ?"
            + " WHERE id = 1 AND revision = ? AND NOT EXISTS (SELECT 1 FROM kv_commands WHERE id = ANY(?))"
            + " RETURNING id),"
            + changes(true) + " " + recordCommands(true);

    private final DbClient db;
    private final Committing writeStatement;
    private final Committing guardedStatement;

    /** A write and the COMMIT after it as one string, with or without a NOTIFY that wakes another process's relay. */
    private record Committing(String quiet, String notifying) {
        /** The channel's name is an identifier of letters, digits and underscores (Database#notifyChannel). */
        static Committing of(String write, String channel) {
            return new Committing(write + "; COMMIT", write + "; NOTIFY " + channel + "; COMMIT");
        }
    }

    public BatchStore(Database database) {
        this.db = database.dbClient();
        this.writeStatement = Committing.of(WRITE, database.notifyChannel());
        this.guardedStatement = Committing.of(GUARDED_WRITE, database.notifyChannel());
    }

    /**
     * Reads the state {@code commands} depend on as of {@code at}, lets {@code decide} turn it into what to write,
     * writes that and commits; with {@code notify}, the commit also wakes a relay listening in another process.
     * Returns the decision. A key whose deadline is at or before {@code at} reads as absent: it has expired, though
     * the expiry that deletes it may not have committed yet, and readers no longer see it.
     */
    public <W extends BatchWrite> W commit(List<Command> commands, Instant at, Function<StoredState, W> decide,
                                           boolean notify) {
        DbTransaction tx = db.transaction();
        try {
            W write = decide.apply(lockAndRead(tx, commands, at));
            writeAndCommit(tx, writeStatement, write, notify, writeParameters(write, META_ROW));
            return write;
        } catch (RuntimeException e) {
            throw rolledBack(tx, e);
        }
    }

    /**
     * Commits {@code write}, decided at {@code revision} without reading the store, in one round trip, provided the
     * store is still at that revision and none of the write's commands is recorded yet ({@link #GUARDED_WRITE}).
     * True if it committed; false if it wrote nothing (the batch is then to be decided from what is stored). Only a
     * write that records a command can tell the two apart: one decided on nothing stored records every command.
     */
    public boolean commitDecidedAt(long revision, BatchWrite write, boolean notify) {
        if (write.recorded().isEmpty()) {
            throw new IllegalArgumentException("A batch decided without reading records its commands");
        }
        Object[] parameters = writeParameters(write, META_ROW);
        Object[] guarded = new Object[parameters.length + 1];
        guarded[0] = write.revision();
        guarded[1] = revision;
        guarded[2] = write.recorded().stream().map(CommandOutcome::command).toArray(String[]::new);
        // The guard's three, then WRITE's own up to its trailing two (its revision update and row).
        System.arraycopy(parameters, 0, guarded, 3, parameters.length - 2);
        DbTransaction tx = db.transaction();
        try {
            return writeAndCommit(tx, guardedStatement, write, notify, guarded) > 0;
        } catch (RuntimeException e) {
            throw rolledBack(tx, e);
        }
    }

    /** Rolls back after {@code failure} and returns it to be thrown. */
    private static RuntimeException rolledBack(DbTransaction tx, RuntimeException failure) {
        try {
            tx.rollback();
        } catch (RuntimeException rollbackFailure) {
            // The connection is gone; the cause that matters is the first one.
            failure.addSuppressed(rollbackFailure);
        }
        return failure;
    }

    /**
     * Expires up to {@code limit} keys whose deadline is at or before {@code at}, in one transaction: takes the
     * revision lock, then reads the due keys in a statement of their own, which sees every batch committed before the
     * lock was granted (read committed), so a key that another worker has just expired, or a client has just written
     * again, is no longer due. Every write of {@code kv_values} holds that lock, so what is read is what is deleted:
     * two workers never expire the same deadline twice. {@code decide} turns the revision and the due keys into the
     * write. Returns it, or null (and writes nothing) when no key was due.
     */
    public <W extends BatchWrite> W expire(Instant at, int limit, BiFunction<Long, List<String>, W> decide,
                                           boolean notify) {
        DbTransaction tx = db.transaction();
        try {
            long revision = tx.get("SELECT revision FROM kv_meta WHERE id = 1 FOR UPDATE")
                    .map(row -> row.column(1).get(Long.class))
                    .orElseThrow();
            List<String> due;
            try (Stream<DbRow> rows = tx.query("SELECT key FROM kv_values WHERE expires_at <= CAST(? AS timestamptz)"
                                               + " ORDER BY expires_at, key LIMIT ?", at.toString(), limit)) {
                due = rows.map(row -> row.column(1).get(String.class)).toList();
            }
            if (due.isEmpty()) {
                tx.rollback();
                return null;
            }
            W write = decide.apply(revision, due);
            writeAndCommit(tx, writeStatement, write, notify, writeParameters(write, META_ROW));
            return write;
        } catch (RuntimeException e) {
            throw rolledBack(tx, e);
        }
    }

    /** True if some key's deadline is at or before {@code at}: a look without the lock, by the deadline index. */
    public boolean anyDue(Instant at) {
        return db.execute().get("SELECT EXISTS (SELECT 1 FROM kv_values WHERE expires_at <= CAST(? AS timestamptz))",
                                at.toString())
                .map(row -> row.column(1).get(Boolean.class))
                .orElse(false);
    }

    /**
     * Does what {@link #commit} does, rolled back and without taking the revision lock: {@code commands} are read
     * without it, {@code decide} is told a made-up negative revision, the write updates no revision counter and
     * notifies nobody. A worker that has just started rehearses before it consumes, so that it does not load and
     * interpret this code for the first time while it holds the lock every other worker waits for. The commands' ids
     * and keys must be new (a random UUID each): nothing else waits for them.
     */
    public void rehearse(List<Command> commands, Instant at, Function<StoredState, ? extends BatchWrite> decide) {
        DbTransaction tx = db.transaction();
        try {
            Map<String, CommandOutcome> outcomes = new HashMap<>();
            Map<String, Long> modRevisions = new HashMap<>();
            Map<String, String> fingerprints = new HashMap<>();
            try (Stream<DbRow> rows = tx.query(STATE, ids(commands), keys(commands), at.toString())) {
                rows.forEach(row -> collect(row, outcomes, modRevisions, fingerprints));
            }
            long revision = -ThreadLocalRandom.current().nextLong(1L << 40, 1L << 50);
            tx.dml(WRITE, writeParameters(decide.apply(new StoredState(revision, outcomes, modRevisions, fingerprints)),
                                          NO_META_ROW));
        } finally {
            tx.rollback();
        }
    }

    /**
     * Only an error about the data itself (SQL state class 22 data exception, 23 integrity violation, 54 limit
     * exceeded) condemns a command; anything else (connection lost, server shutting down, pool timeout, an unknown
     * failure) is an outage, to be retried, because rejecting is final and retrying is safe.
     */
    public static boolean isOutage(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                if (state.startsWith("22") || state.startsWith("23") || state.startsWith("54")) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Takes the revision lock and reads the state in one round trip. The reads see the statement's snapshot, which is
     * taken before any wait for the lock: if a batch committed in between, the locked {@code kv_meta} row is a newer
     * version than the snapshot's (every batch updates it), and the state is read again with the lock in hand.
     */
    private static StoredState lockAndRead(DbTransaction tx, List<Command> commands, Instant at) {
        String[] ids = ids(commands);
        String[] keys = keys(commands);
        Map<String, CommandOutcome> outcomes = new HashMap<>();
        Map<String, Long> modRevisions = new HashMap<>();
        Map<String, String> fingerprints = new HashMap<>();
        long[] locked = {-1};
        boolean[] snapshotCurrent = {false};
        try (Stream<DbRow> rows = tx.query(
                "WITH locked AS (SELECT revision, xmin::text AS version FROM kv_meta WHERE id = 1 FOR UPDATE)"
                + " SELECT 'm', NULL, CAST((SELECT version FROM locked) = (SELECT xmin::text FROM kv_meta WHERE id = 1)"
                + " AS text), (SELECT revision FROM locked), NULL, NULL UNION ALL " + STATE,
                ids, keys, at.toString())) {
            rows.forEach(row -> {
                if ("m".equals(row.column(1).get(String.class))) {
                    locked[0] = row.column(4).get(Long.class);
                    snapshotCurrent[0] = "true".equals(row.column(3).get(String.class));
                } else {
                    collect(row, outcomes, modRevisions, fingerprints);
                }
            });
        }
        if (!snapshotCurrent[0]) {
            outcomes.clear();
            modRevisions.clear();
            fingerprints.clear();
            try (Stream<DbRow> rows = tx.query(STATE, ids, keys, at.toString())) {
                rows.forEach(row -> collect(row, outcomes, modRevisions, fingerprints));
            }
        }
        return new StoredState(locked[0], outcomes, modRevisions, fingerprints);
    }

    private static String[] ids(List<Command> commands) {
        return commands.stream().map(Command::id).distinct().toArray(String[]::new);
    }

    private static String[] keys(List<Command> commands) {
        return commands.stream().flatMap(Command::keys).distinct().toArray(String[]::new);
    }

    private static void collect(DbRow row, Map<String, CommandOutcome> outcomes, Map<String, Long> modRevisions,
                                Map<String, String> fingerprints) {
        String name = row.column(2).get(String.class);
        long revision = row.column(4).get(Long.class);
        if ("c".equals(row.column(1).get(String.class))) {
            outcomes.put(name, new CommandOutcome(name, CommandOutcome.Status.of(row.column(3).get(String.class)),
                                                  revision, txnResult(row.column(6).get(String.class)), false));
            String fingerprint = row.column(5).get(String.class);
            if (fingerprint != null) {
                fingerprints.put(name, fingerprint);
            }
        } else {
            modRevisions.put(name, revision);
        }
    }

    /**
     * All writes of the batch in one statement of data-modifying CTEs, then the NOTIFY if asked for and the COMMIT,
     * sent together: one round trip. The driver sends the statements of one string with a single sync, and the server
     * skips the COMMIT if the write fails (the transaction is then rolled back as usual). {@code tx.commit()}
     * afterwards finds the session no longer in a transaction and sends nothing; it still ends the transaction for
     * Helidon and the pool. Returns the write's update count.
     */
    private static long writeAndCommit(DbTransaction tx, Committing statement, BatchWrite write, boolean notify,
                                       Object[] parameters) {
        long count = tx.dml(notify && !write.events().isEmpty() ? statement.notifying() : statement.quiet(),
                            parameters);
        tx.commit();
        return count;
    }

    /**
     * The parameters of {@link #WRITE}. Each key's final state is its last event, so the deleted and the upserted keys
     * are disjoint and the parts cannot see each other's rows.
     */
    private static Object[] writeParameters(BatchWrite write, int metaRow) {
        Map<String, DomainEvent> finalState = new LinkedHashMap<>();
        write.events().forEach(event -> finalState.put(event.key(), event));
        List<DomainEvent> upserted = finalState.values().stream().filter(DomainEvent::isPut).toList();
        List<DomainEvent> events = write.events();
        List<CommandOutcome> recorded = write.recorded();
        return new Object[] {
                finalState.values().stream().filter(e -> !e.isPut()).map(DomainEvent::key).toArray(String[]::new),
                upserted.stream().map(DomainEvent::key).toArray(String[]::new),
                upserted.stream().map(DomainEvent::value).toArray(String[]::new),
                upserted.stream().mapToLong(DomainEvent::revision).toArray(),
                upserted.stream().map(DomainEvent::expires).toArray(String[]::new),
                write.at().toString(),
                events.stream().mapToLong(DomainEvent::revision).toArray(),
                events.stream().map(e -> e.event().wireName()).toArray(String[]::new),
                events.stream().map(DomainEvent::key).toArray(String[]::new),
                events.stream().map(DomainEvent::value).toArray(String[]::new),
                events.stream().map(DomainEvent::command).toArray(String[]::new),
                events.stream().map(e -> e.txnEnd() == null ? null : e.txnEnd().toString()).toArray(String[]::new),
                events.stream().map(DomainEvent::expires).toArray(String[]::new),
                events.stream().map(e -> e.isExpiry() ? "true" : null).toArray(String[]::new),
                recorded.stream().map(CommandOutcome::command).toArray(String[]::new),
                recorded.stream().map(o -> o.status().wireName()).toArray(String[]::new),
                recorded.stream().mapToLong(CommandOutcome::revision).toArray(),
                recorded.stream().map(o -> write.fingerprints().get(o.command())).toArray(String[]::new),
                recorded.stream().map(o -> encode(o.txn())).toArray(String[]::new),
                write.revision(),
                metaRow};
    }

    /** A transaction's result as {@code kv_commands.txn_result} keeps it: {@code t:11,12,0} (see V5__kv_txn.sql). */
    static String encode(CommandOutcome.TxnResult result) {
        if (result == null) {
            return null;
        }
        StringJoiner revisions = new StringJoiner(",", result.succeeded() ? "t:" : "f:", "");
        result.revisions().forEach(r -> revisions.add(Long.toString(r)));
        return revisions.toString();
    }

    static CommandOutcome.TxnResult txnResult(String encoded) {
        if (encoded == null) {
            return null;
        }
        String revisions = encoded.substring(2);
        return new CommandOutcome.TxnResult(encoded.startsWith("t"), revisions.isEmpty() ? List.of()
                : Arrays.stream(revisions.split(",")).map(Long::valueOf).toList());
    }

    /** The CTEs {@code deleted}, {@code upserted} and {@code events}; if {@code guarded}, each only if it held. */
    private static String changes(boolean guarded) {
        String condition = guarded ? " WHERE " + GUARD_HELD : "";
        return " deleted AS (DELETE FROM kv_values WHERE key = ANY(CAST(? AS text[]))"
               + (guarded ? " AND " + GUARD_HELD : "") + "),"
               + " upserted AS (INSERT INTO kv_values (key, value, mod_revision, expires_at)"
               + "   SELECT * FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS bigint[]),"
               + "   CAST(CAST(? AS text[]) AS timestamptz[]))" + condition
               + "   ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, mod_revision = EXCLUDED.mod_revision,"
               + "   expires_at = EXCLUDED.expires_at),"
               + " events AS (INSERT INTO kv_events (revision, kind, key, value, command_id, at, txn_end, expires_at,"
               + "   expired) SELECT r, k, key, v, c, CAST(? AS timestamptz), t, x, d FROM unnest(CAST(? AS bigint[]),"
               + "   CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[]),"
               + "   CAST(CAST(? AS text[]) AS bigint[]), CAST(CAST(? AS text[]) AS timestamptz[]),"
               + "   CAST(CAST(? AS text[]) AS boolean[])) AS e(r, k, key, v, c, t, x, d)" + condition + ")";
    }

    /** The statement that records the batch's commands; if {@code guarded}, only if the guard held. */
    private static String recordCommands(boolean guarded) {
        return "INSERT INTO kv_commands (id, status, revision, fingerprint, txn_result)"
               + " SELECT * FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS bigint[]), CAST(? AS text[]),"
               + " CAST(? AS text[]))" + (guarded ? " WHERE " + GUARD_HELD : "");
    }
}
