package io.kvstream.worker;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.stream.Stream;

import io.helidon.dbclient.DbClient;
import io.helidon.dbclient.DbRow;
import io.helidon.dbclient.DbTransaction;
import io.kvstream.command.Command;
import io.kvstream.command.CommandOutcome;
import io.kvstream.event.DomainEvent;
import io.kvstream.storage.Database;

/**
 * Commits a batch of commands in one PostgreSQL transaction (group commit). The transaction first locks
 * the revision counter row, so concurrent workers commit one after the other and revisions form one
 * gap-free total order. Parameters travel as arrays, so a batch of 200 commands costs the same three round
 * trips as a batch of one: lock and read, write, commit.
 * <p>
 * After the commit, the batch's events go straight to {@code committed} (this process's relay), which spares
 * the relay a NOTIFY wake-up and a read of the outbox. While another process's relay leads ({@code othersRelay}),
 * a NOTIFY wakes it.
 */
public final class BatchCommitter {
    private final DbClient db;
    private final String notifyChannel;
    private final Consumer<List<DomainEvent>> committed;
    private final BooleanSupplier othersRelay;

    public BatchCommitter(Database database, Consumer<List<DomainEvent>> committed,
                          BooleanSupplier othersRelay) {
        this.db = database.dbClient();
        this.notifyChannel = notifyChannel(database.schema());
        this.committed = committed;
        this.othersRelay = othersRelay;
    }

    /** The LISTEN/NOTIFY channel that tells the relay new events are committed. */
    public static String notifyChannel(String schema) {
        return "kvstream_events_" + schema.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
    }

    /** Outcomes in the order of {@code commands}; a command id seen before gets its first outcome again. */
    public List<CommandOutcome> commit(List<Command> commands) {
        DbTransaction tx = db.transaction();
        Batch batch = new Batch(Instant.now().truncatedTo(ChronoUnit.MICROS));
        List<CommandOutcome> outcomes;
        try {
            outcomes = commitIn(tx, commands, batch);
            tx.commit();
        } catch (RuntimeException e) {
            try {
                tx.rollback();
            } catch (RuntimeException rollbackFailure) {
                // The connection is gone; the cause that matters is the first one.
                e.addSuppressed(rollbackFailure);
            }
            throw e;
        }
        if (!batch.events.isEmpty()) {
            committed.accept(batch.events);
        }
        return outcomes;
    }

    private List<CommandOutcome> commitIn(DbTransaction tx, List<Command> commands, Batch batch) {
        Map<String, CommandOutcome> known = new HashMap<>();
        Map<String, Long> modRevisions = new HashMap<>();
        long revision = lockAndRead(tx, commands, known, modRevisions);

        List<CommandOutcome> outcomes = new ArrayList<>(commands.size());
        for (Command command : commands) {
            CommandOutcome earlier = known.get(command.id());
            if (earlier != null) {
                outcomes.add(earlier);
                continue;
            }
            Long current = modRevisions.get(command.key());
            CommandOutcome outcome;
            if (!preconditionHolds(command, current)) {
                outcome = new CommandOutcome(command.id(), CommandOutcome.PRECONDITION_FAILED, revision);
            } else if (command.isPut()) {
                revision++;
                modRevisions.put(command.key(), revision);
                batch.put(command, revision);
                outcome = new CommandOutcome(command.id(), CommandOutcome.APPLIED, revision);
            } else if (current == null) {
                outcome = new CommandOutcome(command.id(), CommandOutcome.UNCHANGED, revision);
            } else {
                revision++;
                modRevisions.put(command.key(), null);
                batch.delete(command, revision);
                outcome = new CommandOutcome(command.id(), CommandOutcome.APPLIED, revision);
            }
            known.put(command.id(), outcome);
            batch.record(outcome);
            outcomes.add(outcome);
        }
        batch.write(tx, revision, notifyChannel, othersRelay.getAsBoolean());
        return outcomes;
    }

    /** {@code ifMatch} 0 stands for {@code If-Match: *}: the key must exist, whatever its revision. */
    private static boolean preconditionHolds(Command command, Long current) {
        if (command.requiresAbsent() && current != null) {
            return false;
        }
        if (command.ifMatch() == null) {
            return true;
        }
        return command.ifMatch() == 0 ? current != null : command.ifMatch().equals(current);
    }

    private static final String STATE = "SELECT 'c', id, status, revision FROM kv_commands WHERE id = ANY(?)"
                                        + " UNION ALL SELECT 'v', key, NULL, mod_revision FROM kv_values WHERE key = ANY(?)";

    /**
     * Takes the revision lock and reads what the batch needs (the commands already committed, the current mod
     * revision of every key it touches) in one round trip; returns the revision. The reads see the statement's
     * snapshot, which is taken before any wait for the lock: if a batch committed in between, the locked
     * {@code kv_meta} row is a newer version than the snapshot's (every batch updates it), and the state is read
     * again with the lock in hand.
     */
    private static long lockAndRead(DbTransaction tx, List<Command> commands,
                                    Map<String, CommandOutcome> known, Map<String, Long> modRevisions) {
        String[] ids = commands.stream().map(Command::id).distinct().toArray(String[]::new);
        String[] keys = commands.stream().map(Command::key).distinct().toArray(String[]::new);
        long[] locked = {-1};
        boolean[] snapshotCurrent = {false};
        try (Stream<DbRow> rows = tx.query(
                "WITH locked AS (SELECT revision, xmin::text AS version FROM kv_meta WHERE id = 1 FOR UPDATE)"
                + " SELECT 'm', NULL, CAST((SELECT version FROM locked) = (SELECT xmin::text FROM kv_meta WHERE id = 1)"
                + " AS text), (SELECT revision FROM locked) UNION ALL " + STATE, ids, keys)) {
            rows.forEach(row -> {
                if ("m".equals(row.column(1).get(String.class))) {
                    locked[0] = row.column(4).get(Long.class);
                    snapshotCurrent[0] = "true".equals(row.column(3).get(String.class));
                } else {
                    collect(row, known, modRevisions);
                }
            });
        }
        if (!snapshotCurrent[0]) {
            known.clear();
            modRevisions.clear();
            try (Stream<DbRow> rows = tx.query(STATE, ids, keys)) {
                rows.forEach(row -> collect(row, known, modRevisions));
            }
        }
        return locked[0];
    }

    private static void collect(DbRow row, Map<String, CommandOutcome> known, Map<String, Long> modRevisions) {
        String name = row.column(2).get(String.class);
        long revision = row.column(4).get(Long.class);
        if ("c".equals(row.column(1).get(String.class))) {
            known.put(name, new CommandOutcome(name, row.column(3).get(String.class), revision));
        } else {
            modRevisions.put(name, revision);
        }
    }

    /** What one transaction writes: the final state of each touched key, its events and its command ids. */
    private static final class Batch {
        /** The commit time of every event of the batch, at PostgreSQL's precision so a re-read matches. */
        private final Instant at;
        private final List<DomainEvent> events = new ArrayList<>();
        private final Map<String, String> finalValues = new LinkedHashMap<>();
        private final Map<String, Long> finalRevisions = new HashMap<>();
        private final Set<String> deletedKeys = new LinkedHashSet<>();
        private final List<Long> eventRevisions = new ArrayList<>();
        private final List<String> eventKinds = new ArrayList<>();
        private final List<String> eventKeys = new ArrayList<>();
        private final List<String> eventValues = new ArrayList<>();
        private final List<String> eventCommands = new ArrayList<>();
        private final List<String> commandIds = new ArrayList<>();
        private final List<String> commandStatuses = new ArrayList<>();
        private final List<Long> commandRevisions = new ArrayList<>();

        Batch(Instant at) {
            this.at = at;
        }

        void put(Command command, long revision) {
            finalValues.put(command.key(), command.value());
            finalRevisions.put(command.key(), revision);
            deletedKeys.remove(command.key());
            event(DomainEvent.PUT, command, revision);
        }

        void delete(Command command, long revision) {
            finalValues.remove(command.key());
            finalRevisions.remove(command.key());
            deletedKeys.add(command.key());
            event(DomainEvent.DELETED, command, revision);
        }

        void record(CommandOutcome outcome) {
            commandIds.add(outcome.command());
            commandStatuses.add(outcome.status());
            commandRevisions.add(outcome.revision());
        }

        private void event(String kind, Command command, long revision) {
            eventRevisions.add(revision);
            eventKinds.add(kind);
            eventKeys.add(command.key());
            eventValues.add(command.isPut() ? command.value() : null);
            eventCommands.add(command.id());
            events.add(new DomainEvent(kind, command.key(), command.isPut() ? command.value() : null, revision,
                                       command.id(), at.toString()));
        }

        /**
         * All writes of the batch in one statement of data-modifying CTEs (one round trip). The deleted and the
         * upserted keys are disjoint (each key has one final state), so the parts cannot see each other's rows.
         */
        void write(DbTransaction tx, long revision, String notifyChannel, boolean notify) {
            String[] upserted = finalValues.keySet().toArray(String[]::new);
            tx.get("WITH deleted AS (DELETE FROM kv_values WHERE key = ANY(CAST(? AS text[]))),"
                   + " upserted AS (INSERT INTO kv_values (key, value, mod_revision)"
                   + "   SELECT * FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS bigint[]))"
                   + "   ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, mod_revision = EXCLUDED.mod_revision),"
                   + " events AS (INSERT INTO kv_events (revision, kind, key, value, command_id, at)"
                   + "   SELECT r, k, key, v, c, CAST(? AS timestamptz) FROM unnest(CAST(? AS bigint[]), CAST(? AS text[]),"
                   + "   CAST(? AS text[]), CAST(? AS text[]), CAST(? AS text[])) AS e(r, k, key, v, c)),"
                   + " commands AS (INSERT INTO kv_commands (id, status, revision)"
                   + "   SELECT * FROM unnest(CAST(? AS text[]), CAST(? AS text[]), CAST(? AS bigint[]))),"
                   + " meta AS (UPDATE kv_meta SET revision = ? WHERE id = 1)"
                   + " SELECT pg_notify(?, '') WHERE ?",
                   deletedKeys.toArray(String[]::new),
                   upserted,
                   finalValues.values().toArray(String[]::new),
                   longs(java.util.Arrays.stream(upserted).map(finalRevisions::get).toList()),
                   at.toString(),
                   longs(eventRevisions),
                   eventKinds.toArray(String[]::new),
                   eventKeys.toArray(String[]::new),
                   eventValues.toArray(String[]::new),
                   eventCommands.toArray(String[]::new),
                   commandIds.toArray(String[]::new),
                   commandStatuses.toArray(String[]::new),
                   longs(commandRevisions),
                   revision,
                   notifyChannel,
                   notify && !eventRevisions.isEmpty());
        }

        private static long[] longs(List<Long> values) {
            return values.stream().mapToLong(Long::longValue).toArray();
        }
    }
}
