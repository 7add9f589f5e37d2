package io.kvstream.storage;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;

import javax.sql.DataSource;

import io.helidon.dbclient.DbClientException;

/**
 * Reads every value together with the revision it is consistent with, in one repeatable-read transaction.
 * Plain JDBC rather than DbClient: a million rows stream through here at start-up, and the per-row mapping of
 * DbClient doubled the time to ready.
 */
public final class SnapshotReader {
    private static final int FETCH_SIZE = 10_000;

    private final DataSource dataSource;

    public SnapshotReader(Database database) {
        this.dataSource = database.dataSource();
    }

    /** What a snapshot hands over, row by row; {@code expires} is null for a permanent value. */
    @FunctionalInterface
    public interface Sink {
        void value(String key, String value, long modRevision, Instant expires);
    }

    /** Streams all values to {@code sink} and returns the revision the snapshot is at. */
    public long read(Sink sink) {
        try {
            return ConsistentRead.run(dataSource, connection -> {
                long revision;
                try (Statement statement = connection.createStatement();
                     ResultSet rs = statement.executeQuery("SELECT revision FROM kv_meta WHERE id = 1")) {
                    rs.next();
                    revision = rs.getLong(1);
                }
                try (PreparedStatement statement = connection.prepareStatement(
                        "SELECT key, value, mod_revision, expires_at FROM kv_values")) {
                    statement.setFetchSize(FETCH_SIZE);
                    try (ResultSet rs = statement.executeQuery()) {
                        while (rs.next()) {
                            Timestamp expires = rs.getTimestamp(4);
                            sink.value(rs.getString(1), rs.getString(2), rs.getLong(3),
                                       expires == null ? null : expires.toInstant());
                        }
                    }
                }
                return revision;
            });
        } catch (SQLException e) {
            throw new DbClientException("Cannot read a snapshot: " + e.getMessage(), e);
        }
    }
}
