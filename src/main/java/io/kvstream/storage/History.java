package io.kvstream.storage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.sql.DataSource;

import io.kvstream.domain.Entry;

/**
 * The store as it was at a past revision, from the events table: a key's value is its last change at or before the
 * revision. Compaction keeps each key's last value at the compacted revision (as etcd keeps the latest version of
 * each key), so any revision from the compacted one up to the current one can be read; an older one is gone.
 * Each read runs in one repeatable-read transaction, so the bounds it checks and the rows it reads agree.
 */
public final class History {
    /** What a read at a revision found. */
    public sealed interface At<T> permits Found, Compacted, Future {
    }

    public record Found<T>(T value) implements At<T> {
    }

    /** The revision is older than the retained history; {@code compacted} is the oldest readable one. */
    public record Compacted<T>(long compacted) implements At<T> {
    }

    /** The revision is newer than anything committed; {@code current} is the newest. */
    public record Future<T>(long current) implements At<T> {
    }

    /**
     * One page of a listing at a revision; {@code next} is the key to continue after. {@code revision} is the one read:
     * the one asked for, or for one inside a transaction the revision before it.
     */
    public record Page(long revision, List<Map.Entry<String, Entry>> values, String next) {
    }

    private static final String LAST_CHANGE = "SELECT kind, value, revision, expires_at FROM ("
            + " SELECT kind, value, revision, expires_at FROM kv_events WHERE key COLLATE \"C\" = ? AND revision <= ?"
            // A value older than every stored event of its key (compacted before history was kept per key)
            + " UNION ALL SELECT 'value_put', value, mod_revision, expires_at FROM kv_values"
            + "  WHERE key = ? AND mod_revision <= ?"
            + ") changes ORDER BY revision DESC LIMIT 1";

    /**
     * A page of a listing. The prefix's range bounds the index scans ({@code key >= prefix AND key < successor}):
     * connections keep generic plans (Database), which cannot derive those bounds from {@code starts_with} of a
     * parameter, and would otherwise read every key after the prefix's. A prefix without a successor (empty, or all
     * of the highest code point) leaves the scan unbounded above.
     */
    static final String PAGE = page(true);
    private static final String PAGE_UNBOUNDED = page(false);

    private static String page(boolean bounded) {
        String events = "key COLLATE \"C\"";
        String last = "SELECT key, value, revision, expires_at FROM ("
               + " SELECT DISTINCT ON (key) key, kind, value, revision, expires_at FROM ("
               + "  SELECT " + events + " AS key, kind, value, revision, expires_at FROM kv_events"
               + "   WHERE " + range(events, bounded) + " AND starts_with(key, ?) AND revision <= ?"
               + "  UNION ALL SELECT key, 'value_put', value, mod_revision, expires_at FROM kv_values"
               + "   WHERE " + range("key", bounded) + " AND starts_with(key, ?) AND mod_revision <= ?"
               + " ) changes ORDER BY key, revision DESC"
               + ") last WHERE kind = 'value_put' ORDER BY key LIMIT ?";
        // The bound in bytes (the first parameter) is applied here, so that no more than the page leaves the server:
        // the rows that fit (the first always does), then the first that does not, without its value, which only
        // says that more follow. Without values (the second parameter false) every row fits and none has its value.
        String size = jsonLength("key") + " + CASE WHEN with_values THEN " + jsonLength("value") + " ELSE 0 END";
        return "SELECT key, CASE WHEN with_values AND fits THEN value END, revision, fits, expires_at FROM ("
               + " SELECT key, value, revision, expires_at, with_values, n = 1 OR through <= max_bytes AS fits,"
               + "  n <= 2 OR through - size <= max_bytes AS sent FROM ("
               + "  SELECT key, value, revision, expires_at, with_values, max_bytes, " + size + " AS size,"
               + "   row_number() OVER w AS n, sum(" + size + ") OVER w AS through"
               + "  FROM (" + last + ") page, (SELECT ?::bigint AS max_bytes, ?::boolean AS with_values) bound"
               + "  WINDOW w AS (ORDER BY key)"
               + " ) sized"
               + ") cut WHERE sent ORDER BY key";
    }

    /**
     * The bytes of {@code column} as a JSON string in UTF-8, quotes aside, as the page is sent: a control character
     * is escaped to six bytes or, if it has a short escape, two, as are {@code "} and {@code \}.
     */
    private static String jsonLength(String column) {
        StringBuilder longEscaped = new StringBuilder();
        for (char c = 1; c < 0x20; c++) {
            if ("\b\t\n\f\r".indexOf(c) < 0) {
                longEscaped.append(String.format("\\x%02x", (int) c));
            }
        }
        String shortEscaped = "\\x08\\x09\\x0a\\x0c\\x0d\"\\\\";
        return "(octet_length(" + column + ") + 5 * (length(" + column + ") - length(translate(" + column + ", E'"
               + longEscaped + "', ''))) + length(" + column + ") - length(translate(" + column + ", E'" + shortEscaped
               + "', '')))";
    }

    /** After the page's last key, from the prefix on, and (if bounded) before the prefix's successor. */
    private static String range(String key, boolean bounded) {
        return key + " > ? AND " + key + " >= ?" + (bounded ? " AND " + key + " < ?" : "");
    }

    /**
     * The least string greater than every string that starts with {@code prefix}, in code point order (which is
     * UTF-8's byte order, the "C" collation's), or null if there is none.
     */
    static String successor(String prefix) {
        int[] codePoints = prefix.codePoints().toArray();
        for (int i = codePoints.length - 1; i >= 0; i--) {
            if (codePoints[i] < Character.MAX_CODE_POINT) {
                int next = codePoints[i] + 1;
                codePoints[i] = next == Character.MIN_SURROGATE ? Character.MAX_SURROGATE + 1 : next;
                return new String(codePoints, 0, i + 1);
            }
        }
        return null;
    }

    private final DataSource dataSource;

    public History(Database database) {
        this.dataSource = database.dataSource();
    }

    /** The key's value and mod revision at {@code revision}; an empty {@link Found} if it did not exist then. */
    public At<Optional<Entry>> get(String key, long revision) {
        return read(revision, (connection, at) -> {
            try (PreparedStatement statement = connection.prepareStatement(LAST_CHANGE)) {
                statement.setString(1, key);
                statement.setLong(2, at);
                statement.setString(3, key);
                statement.setLong(4, at);
                try (ResultSet rs = statement.executeQuery()) {
                    if (!rs.next() || !"value_put".equals(rs.getString(1))) {
                        return Optional.empty();
                    }
                    return Optional.of(new Entry(rs.getString(2), rs.getLong(3),
                                                 instant(rs.getObject(4, OffsetDateTime.class))));
                }
            }
        });
    }

    /**
     * Keys starting with {@code prefix} that existed at {@code revision}, sorted, after {@code after}: at most
     * {@code limit}, and no more than fit in {@code maxBytes} of keys and values in UTF-8 (the first always does).
     * Without {@code withValues} the entries have no value (null) and only the keys count against the bound.
     * {@code next} is set whenever more keys follow.
     */
    public At<Page> list(String prefix, String after, int limit, long maxBytes, boolean withValues, long revision) {
        return read(revision, (connection, at) -> {
            String upper = successor(prefix);
            try (PreparedStatement statement = connection.prepareStatement(upper == null ? PAGE_UNBOUNDED : PAGE)) {
                String from = after == null ? "" : after;
                int i = 0;
                // The same conditions twice: for kv_events, then for kv_values.
                for (int table = 0; table < 2; table++) {
                    statement.setString(++i, from);
                    statement.setString(++i, prefix);
                    if (upper != null) {
                        statement.setString(++i, upper);
                    }
                    statement.setString(++i, prefix);
                    statement.setLong(++i, at);
                }
                statement.setInt(++i, limit + 1);
                statement.setLong(++i, maxBytes);
                statement.setBoolean(++i, withValues);
                List<Map.Entry<String, Entry>> values = new ArrayList<>();
                try (ResultSet rs = statement.executeQuery()) {
                    while (rs.next()) {
                        if (!rs.getBoolean(4) || values.size() == limit) {
                            return new Page(at, values, values.getLast().getKey());
                        }
                        Instant expires = instant(rs.getObject(5, OffsetDateTime.class));
                        values.add(Map.entry(rs.getString(1), new Entry(rs.getString(2), rs.getLong(3), expires)));
                    }
                }
                return new Page(at, values, null);
            }
        });
    }

    private static Instant instant(OffsetDateTime time) {
        return time == null ? null : time.toInstant();
    }

    /** A read of the store as it was at revision {@code at}. */
    @FunctionalInterface
    private interface ReadAt<T> {
        T run(Connection connection, long at) throws SQLException;
    }

    /**
     * A revision inside a transaction (after its first change, before its last) is read as the revision before it:
     * no read ever sees part of a transaction.
     */
    private static final String OUTSIDE_TRANSACTIONS = "SELECT COALESCE((SELECT min(t.revision) - 1 FROM kv_events t"
            + " WHERE t.command_id = (SELECT e.command_id FROM kv_events e WHERE e.revision = ? AND e.txn_end > ?)), ?)";

    private <T> At<T> read(long revision, ReadAt<T> query) {
        try {
            return ConsistentRead.run(dataSource, connection -> {
                long current;
                long compacted;
                try (PreparedStatement bounds = connection.prepareStatement(
                        "SELECT m.revision, r.compacted_revision FROM kv_meta m, kv_relay r");
                     ResultSet rs = bounds.executeQuery()) {
                    rs.next();
                    current = rs.getLong(1);
                    compacted = rs.getLong(2);
                }
                if (revision > current) {
                    return new Future<>(current);
                }
                if (revision < compacted) {
                    return new Compacted<>(compacted);
                }
                long at;
                try (PreparedStatement outside = connection.prepareStatement(OUTSIDE_TRANSACTIONS)) {
                    outside.setLong(1, revision);
                    outside.setLong(2, revision);
                    outside.setLong(3, revision);
                    try (ResultSet rs = outside.executeQuery()) {
                        rs.next();
                        at = rs.getLong(1);
                    }
                }
                return new Found<>(query.run(connection, at));
            });
        } catch (SQLException e) {
            throw new StorageException("Cannot read the history", e);
        }
    }
}
