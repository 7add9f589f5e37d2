package io.kvstream.wire;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import io.kvstream.domain.DomainEvent;

/**
 * Domain events on the wire: each event as its own JSON object (the documented public format), and a committed
 * batch as one JSON array of the same objects (the replication feed), so both carry the very same bytes per event.
 */
final class EventCodec {
    /**
     * The revision of a batch message's last event, as a header: a process that has applied it already (its own
     * worker's batch, handed over in the process) skips the message without reading its body.
     */
    static final String LAST_REVISION_HEADER = "kvstream-last-revision";

    private EventCodec() {
    }

    /** The events of one batch, each encoded once. */
    record Encoded(byte[] batch, List<byte[]> singles) {
    }

    static Encoded encode(List<DomainEvent> events) {
        List<byte[]> singles = events.stream().map(Json::write).toList();
        int length = singles.size() + 1;
        for (byte[] single : singles) {
            length += single.length;
        }
        ByteArrayOutputStream batch = new ByteArrayOutputStream(length);
        batch.write('[');
        for (int i = 0; i < singles.size(); i++) {
            if (i > 0) {
                batch.write(',');
            }
            batch.writeBytes(singles.get(i));
        }
        batch.write(']');
        return new Encoded(batch.toByteArray(), singles);
    }

    /** The events of a batch message; a malformed one throws {@link IllegalArgumentException}. */
    static List<DomainEvent> decodeBatch(byte[] body) {
        return Arrays.stream(Json.read(body, DomainEvent[].class)).filter(Objects::nonNull).toList();
    }
}
