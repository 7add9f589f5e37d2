package io.kvstream.storage;

import java.sql.Timestamp;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.Stream;

import io.helidon.dbclient.DbClient;
import io.helidon.dbclient.DbRow;
import io.kvstream.domain.DomainEvent;

/** Reads the stored events: catch-up for replicas, the relay's outbox, replay for WebSocket clients. */
public final class EventLog {
    private final DbClient db;

    public EventLog(Database database) {
        this.db = database.dbClient();
    }

    /**
     * Up to {@code limit} events with revision greater than {@code revision}, in revision order, ending before their
     * keys and values add up to more than {@code maxBytes} (UTF-8); only a first event larger than that comes alone.
     * What a reader holds is bounded.
     */
    public List<DomainEvent> after(long revision, int limit, long maxBytes) {
        try (Stream<DbRow> rows = db.execute().query(
                "SELECT revision, kind, key, value, command_id, at, txn_end, expires_at, expired FROM ("
                + " SELECT revision, kind, key, value, command_id, at, txn_end, expires_at, expired,"
                + " octet_length(key) + coalesce(octet_length(value), 0) AS size,"
                + " sum(octet_length(key) + coalesce(octet_length(value), 0)) OVER (ORDER BY revision) AS upto"
                + " FROM kv_events WHERE revision > ? ORDER BY revision LIMIT ?) page"
                + " WHERE upto <= ? OR upto = size ORDER BY revision", revision, limit, maxBytes)) {
            return rows.map(EventLog::event).toList();
        }
    }

    /** Events up to this revision have been compacted away; a reader behind it must reload a snapshot. */
    public long compactedRevision() {
        return db.execute().get("SELECT compacted_revision FROM kv_relay WHERE id = 1")
                .map(row -> row.column(1).get(Long.class))
                .orElse(0L);
    }

    public long committedRevision() {
        return storedRevision().orElse(0L);
    }

    /** The committed revision; empty while the schema holds no revision yet (being created, or restored). */
    public OptionalLong storedRevision() {
        return db.execute().get("SELECT revision FROM kv_meta WHERE id = 1")
                .map(row -> OptionalLong.of(row.column(1).get(Long.class)))
                .orElse(OptionalLong.empty());
    }

    static DomainEvent event(DbRow row) {
        String at = row.column("at").get(Timestamp.class).toInstant().toString();
        Long txnEnd = row.column("txn_end").get(Long.class);
        String command = row.column("command_id").get(String.class);
        Timestamp expires = row.column("expires_at").get(Timestamp.class);
        return new DomainEvent(DomainEvent.Kind.of(row.column("kind").get(String.class)),
                               row.column("key").get(String.class),
                               row.column("value").get(String.class),
                               row.column("revision").get(Long.class),
                               command,
                               at,
                               txnEnd == null ? null : command,
                               txnEnd,
                               expires == null ? null : expires.toInstant().toString(),
                               row.column("expired").get(Boolean.class));
    }
}
