package io.kvstream.storage;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvstream.config.Settings;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.wire.Json;
import io.kvstream.ws.KvHttp;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * The statements of a write find their rows by index from the first write on, as the tables grow from empty: each
 * connection keeps the plans of its prepared statements, and a plan made while a table was small must not read it
 * whole ever after. PostgreSQL's own statistics count the rows read by sequential scans.
 */
class QueryPlansTest {
    private static final int WRITES = 300;

    @Test
    void writesReadNoTableWholeWhileTheTablesGrowFromEmpty() throws Exception {
        String name = TestServices.uniqueName("plans");
        Settings settings = TestServices.settings(Settings.Role.ALL, name, name);
        try (TestNode node = TestNode.start(settings)) {
            IntStream.range(0, WRITES).parallel().forEach(i -> KvHttp.put(node.port(), "key-" + i, "v" + i));
            IntStream.range(0, WRITES / 3).forEach(i -> KvHttp.put(node.port(), "key-" + i, "again-" + i));

            // The server publishes a session's counts a moment after its transactions end.
            await().until(() -> indexScans(settings.db(), "kv_commands") >= WRITES / 64
                                && indexScans(settings.db(), "kv_values") >= WRITES / 64);
            assertThat(rowsReadWhole(settings.db()), is(Map.of("kv_commands", 0L, "kv_events", 0L, "kv_values", 0L)));
        }
    }

    /**
     * A listing's generic plan reads its prefix's keys and none after them: the keys just past the prefix's range
     * ({@code a.…} after {@code a-…}) would otherwise be read and filtered out one by one. The page's statement runs
     * as the connections run it, with a generic plan, on a table that holds both.
     */
    @Test
    void aListingReadsOnlyItsPrefixsRangeUnderAGenericPlan() throws Exception {
        String name = TestServices.uniqueName("plans");
        Settings settings = TestServices.settings(Settings.Role.ALL, name, name);
        try (TestNode node = TestNode.start(settings)) {
            IntStream.range(0, 5).forEach(i -> KvHttp.put(node.port(), "a-" + i, "in"));
            long revision = IntStream.range(0, WRITES).parallel()
                    .mapToLong(i -> KvHttp.put(node.port(), "a." + i, "after")).max().orElseThrow();
            Settings.Db db = settings.db();
            try (Connection c = DriverManager.getConnection(db.url(), db.username(), db.password());
                 Statement statement = c.createStatement()) {
                statement.execute("SET search_path TO \"" + db.schema() + "\"");
                statement.execute("SET plan_cache_mode = force_generic_plan");
                statement.execute("PREPARE page AS " + numbered(History.PAGE));
                String args = "'', 'a-', 'a.', 'a-', " + revision;
                try (ResultSet plan = statement.executeQuery(
                        "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE page(" + args + ", " + args + ", 100, 4194304, true)")) {
                    plan.next();
                    JsonNode root = Json.read(plan.getString(1), JsonNode.class).get(0).get("Plan");
                    assertThat(root.get("Actual Rows").asInt(), is(5));
                    assertThat(sum(root, "Rows Removed by Filter"), is(0L));
                    assertThat(sum(root, "Rows Removed by Index Recheck"), is(0L));
                }
            }
        }
    }

    /** The statement with PostgreSQL's numbered parameters in place of JDBC's question marks. */
    private static String numbered(String sql) {
        StringBuilder out = new StringBuilder();
        int n = 0;
        for (char ch : sql.toCharArray()) {
            out.append(ch == '?' ? "$" + ++n : String.valueOf(ch));
        }
        return out.toString();
    }

    /** The sum of {@code field} over the plan's nodes. */
    private static long sum(JsonNode node, String field) {
        long total = node.path(field).asLong(0);
        for (JsonNode child : node.path("Plans")) {
            total += sum(child, field);
        }
        return total;
    }

    private static long indexScans(Settings.Db db, String table) throws SQLException {
        return stat(db, "SELECT coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE schemaname = ? AND relname = '"
                        + table + "'");
    }

    private static Map<String, Long> rowsReadWhole(Settings.Db db) throws SQLException {
        Map<String, Long> read = new HashMap<>();
        for (String table : new String[] {"kv_commands", "kv_events", "kv_values"}) {
            read.put(table, stat(db, "SELECT seq_tup_read FROM pg_stat_user_tables WHERE schemaname = ? AND relname = '"
                                     + table + "'"));
        }
        return read;
    }

    private static long stat(Settings.Db db, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(db.url(), db.username(), db.password());
             PreparedStatement query = c.prepareStatement(sql)) {
            query.setString(1, db.schema());
            try (ResultSet rs = query.executeQuery()) {
                return rs.next() ? rs.getLong(1) : -1;
            }
        }
    }
}
