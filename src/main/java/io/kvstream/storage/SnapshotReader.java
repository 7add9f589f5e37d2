package io.kvstream.storage;

import java.util.stream.Stream;

import io.helidon.dbclient.DbClient;
import io.helidon.dbclient.DbRow;
import io.helidon.dbclient.DbTransaction;

/** Reads every value together with the revision it is consistent with, in one repeatable-read transaction. */
public final class SnapshotReader {
    private final DbClient db;

    public SnapshotReader(Database database) {
        this.db = database.dbClient();
    }

    /** What a snapshot hands over, row by row. */
    @FunctionalInterface
    public interface Sink {
        void value(String key, String value, long modRevision);
    }

    /** Streams all values to {@code sink} and returns the revision the snapshot is at. */
    public long read(Sink sink) {
        DbTransaction tx = db.transaction();
        try {
            tx.dml("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
            long revision = tx.get("SELECT revision FROM kv_meta WHERE id = 1")
                    .map(row -> row.column(1).get(Long.class))
                    .orElseThrow();
            try (Stream<DbRow> rows = tx.query("SELECT key, value, mod_revision FROM kv_values")) {
                rows.forEach(row -> sink.value(row.column(1).get(String.class),
                                               row.column(2).get(String.class),
                                               row.column(3).get(Long.class)));
            }
            tx.commit();
            return revision;
        } catch (RuntimeException e) {
            tx.rollback();
            throw e;
        }
    }
}
