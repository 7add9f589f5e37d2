package io.kvstream.testing;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;

import io.kvstream.config.Settings;
import io.kvstream.ws.KvHttp;

/**
 * What the tests of expiring keys share: PUT with {@code ?ttl=}, plain requests answered as they are, and what the
 * database holds of deadlines and expiries.
 */
public final class ExpiryTools {
    private ExpiryTools() {
    }

    /** {@code PUT /values/{key}?query} with the value as body (query: e.g. {@code ttl=5}, or empty). */
    public static HttpResponse<String> put(int port, String key, String query, String value) {
        return send(HttpRequest.newBuilder(uri(port, "/values/" + key + (query.isEmpty() ? "" : "?" + query)))
                            .PUT(HttpRequest.BodyPublishers.ofString(value)).build());
    }

    /** The same, enqueued only ({@code Prefer: respond-async}). */
    public static HttpResponse<String> putAsync(int port, String key, String query, String value) {
        return send(HttpRequest.newBuilder(uri(port, "/values/" + key + (query.isEmpty() ? "" : "?" + query)))
                            .header("Prefer", "respond-async")
                            .PUT(HttpRequest.BodyPublishers.ofString(value)).build());
    }

    public static HttpResponse<String> get(int port, String path) {
        return send(HttpRequest.newBuilder(uri(port, path)).GET().build());
    }

    public static HttpResponse<String> delete(int port, String key) {
        return send(HttpRequest.newBuilder(uri(port, "/values/" + key)).DELETE().build());
    }

    /** How many {@code "expired":true} deletes the event log holds, by key. */
    public static Map<String, Integer> expiries(Settings.Db db) {
        Map<String, Integer> counts = new HashMap<>();
        query(db, "SELECT key, count(*) FROM kv_events WHERE expired GROUP BY key",
              rs -> counts.put(rs.getString(1), rs.getInt(2)));
        return counts;
    }

    /** Keys stored with a deadline, whether or not it has passed. */
    public static int keysWithDeadline(Settings.Db db) {
        int[] count = new int[1];
        query(db, "SELECT count(*) FROM kv_values WHERE expires_at IS NOT NULL", rs -> count[0] = rs.getInt(1));
        return count[0];
    }

    private interface Row {
        void read(ResultSet rs) throws SQLException;
    }

    private static void query(Settings.Db db, String sql, Row row) {
        try (Connection c = TestServices.connect(db)) {
            try (PreparedStatement s = c.prepareStatement(sql); ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    row.read(rs);
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static URI uri(int port, String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    private static HttpResponse<String> send(HttpRequest request) {
        return KvHttp.send(request);
    }
}
