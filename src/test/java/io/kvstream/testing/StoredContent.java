package io.kvstream.testing;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.kvstream.config.Settings;
import io.kvstream.domain.Entry;

/** What PostgreSQL holds for one test schema, read with plain JDBC to compare replicas against it. */
public record StoredContent(long revision, Map<String, Entry> values, List<Long> eventRevisions) {

    public static StoredContent read(Settings.Db db) {
        try (Connection c = TestServices.connect(db);
             Statement s = c.createStatement()) {
            long revision;
            try (ResultSet rs = s.executeQuery("SELECT revision FROM kv_meta WHERE id = 1")) {
                rs.next();
                revision = rs.getLong(1);
            }
            Map<String, Entry> values = new TreeMap<>();
            try (ResultSet rs = s.executeQuery("SELECT key, value, mod_revision FROM kv_values")) {
                while (rs.next()) {
                    values.put(rs.getString(1), new Entry(rs.getString(2), rs.getLong(3)));
                }
            }
            List<Long> events = new ArrayList<>();
            try (ResultSet rs = s.executeQuery("SELECT revision FROM kv_events ORDER BY revision")) {
                while (rs.next()) {
                    events.add(rs.getLong(1));
                }
            }
            return new StoredContent(revision, values, events);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
