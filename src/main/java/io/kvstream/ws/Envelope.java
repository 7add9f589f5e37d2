package io.kvstream.ws;

import io.kvstream.domain.DomainEvent;
import io.kvstream.wire.Json;

/**
 * One message on {@code /events}, in the seed demo's envelope plus the revision. Fields that are null are left
 * out, so each kind has exactly the fields the contract shows:
 * <pre>
 * {"type":"domain_event","route":"events","from":"Domain Event","value":"ValueHasBeenPut",
 *  "event":{"event":"value_put","key":"k","value":"v","revision":7}}
 * {"type":"connection_opened","route":"events","from":"3f9c0a2b71de","value":"Connection opened"}
 * {"type":"resync_required","route":"events","revision":42}
 * {"type":"error","route":"events","value":"since must be a non-negative integer revision"}
 * </pre>
 * The same JSON crosses processes on the presence exchange for connection events.
 */
public record Envelope(String type, String route, String from, String value, Change event, Long revision) {
    public static final String DOMAIN_EVENT = "domain_event";
    public static final String CONNECTION_OPENED = "connection_opened";
    public static final String CONNECTION_CLOSED = "connection_closed";
    public static final String RESYNC_REQUIRED = "resync_required";
    public static final String ERROR = "error";
    private static final String ROUTE = "events";

    /**
     * The change inside a domain event: the stored event without its command id and timestamp; a transaction's
     * changes name it ({@code "txn":"<command id>"}) and arrive consecutively. A put with a time to live names its
     * deadline ({@code "expires":"<ISO-8601>"}), the delete at that deadline says {@code "expired":true}.
     */
    public record Change(DomainEvent.Kind event, String key, String value, long revision, String txn,
                         String expires, Boolean expired) {
    }

    public static Envelope domainEvent(DomainEvent event) {
        return new Envelope(DOMAIN_EVENT, ROUTE, "Domain Event",
                            event.isPut() ? "ValueHasBeenPut" : "ValueHasBeenDeleted",
                            new Change(event.event(), event.key(), event.isPut() ? event.value() : null,
                                       event.revision(), event.txn(), event.expires(), event.expired()),
                            null);
    }

    public static Envelope connectionOpened(String connectionId) {
        return new Envelope(CONNECTION_OPENED, ROUTE, connectionId, "Connection opened", null, null);
    }

    public static Envelope connectionClosed(String connectionId) {
        return new Envelope(CONNECTION_CLOSED, ROUTE, connectionId, "Connection closed", null, null);
    }

    public static Envelope resyncRequired(long currentRevision) {
        return new Envelope(RESYNC_REQUIRED, ROUTE, null, null, null, currentRevision);
    }

    public static Envelope error(String message) {
        return new Envelope(ERROR, ROUTE, null, message, null, null);
    }

    /** True for a well-formed connection opened/closed event (what the presence exchange may carry). */
    public boolean announcesConnection() {
        return (CONNECTION_OPENED.equals(type) || CONNECTION_CLOSED.equals(type)) && from != null && value != null;
    }

    public String json() {
        return Json.writeString(this);
    }
}
