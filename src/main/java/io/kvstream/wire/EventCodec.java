package io.kvstream.wire;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import io.kvstream.domain.DomainEvent;

/**
 * Domain events on the wire: each event as its own JSON object (the documented public format), and a committed
 * batch as a JSON array of the same objects (the replication feed), so both carry the very same bytes per event; a
 * large batch as several arrays, in order.
 */
final class EventCodec {
    /**
     * The revision of a batch message's last event, as a header: a process that has applied it already (its own
     * worker's batch, handed over in the process) skips the message without reading its body.
     */
    static final String LAST_REVISION_HEADER = "kvstream-last-revision";

    private EventCodec() {
    }

    /**
     * A batch message holds events up to this many bytes, or one event alone if it is larger: a commit of many large
     * values would otherwise make a message past what a broker (RabbitMQ 4's {@code max_message_size}) or a client
     * ({@code ConnectionFactory#setMaxInboundMessageBodySize}) takes, and the refused message would stop replication.
     */
    static final int MAX_BATCH_MESSAGE_BYTES = 4 * 1024 * 1024;

    /** The events of one batch, each encoded once: the batch messages that carry them, and each alone. */
    record Encoded(List<Part> batch, List<byte[]> singles) {
    }

    /** One batch message: a JSON array of events, and the revision of its last. */
    record Part(byte[] body, long lastRevision) {
    }

    static Encoded encode(List<DomainEvent> events) {
        List<byte[]> singles = events.stream().map(Json::write).toList();
        List<Part> parts = new ArrayList<>(1);
        int from = 0;
        int length = 1;
        for (int i = 0; i < singles.size(); i++) {
            if (i > from && length + singles.get(i).length + 1 > MAX_BATCH_MESSAGE_BYTES) {
                parts.add(part(singles, events, from, i, length));
                from = i;
                length = 1;
            }
            length += singles.get(i).length + 1;
        }
        parts.add(part(singles, events, from, singles.size(), length));
        return new Encoded(List.copyOf(parts), singles);
    }

    private static Part part(List<byte[]> singles, List<DomainEvent> events, int from, int to, int length) {
        ByteArrayOutputStream batch = new ByteArrayOutputStream(length);
        batch.write('[');
        for (int i = from; i < to; i++) {
            if (i > from) {
                batch.write(',');
            }
            batch.writeBytes(singles.get(i));
        }
        batch.write(']');
        return new Part(batch.toByteArray(), events.get(to - 1).revision());
    }

    /** The events of a batch message; a malformed one throws {@link IllegalArgumentException}. */
    static List<DomainEvent> decodeBatch(byte[] body) {
        return Arrays.stream(Json.read(body, DomainEvent[].class)).filter(Objects::nonNull).toList();
    }
}
