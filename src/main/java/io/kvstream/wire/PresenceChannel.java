package io.kvstream.wire;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;

/**
 * The presence exchange shared by every WebSocket process: connection announcements (the {@code /events} envelope
 * JSON, with the sending process and its roster interval in headers) and rosters (the ids of a process's open
 * connections, as a message of type {@value #ROSTER_TYPE}). Each process hears its own messages too. Best effort:
 * transient, not stored, and what is published while the broker is away is lost.
 */
public final class PresenceChannel implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PresenceChannel.class.getName());
    public static final String ROSTER_TYPE = "kvstream.roster";
    public static final String PROCESS_HEADER = "kvstream-process";
    public static final String EVERY_HEADER = "kvstream-roster-every-ms";
    private static final AMQP.BasicProperties PROPS = new AMQP.BasicProperties.Builder()
            .contentType("application/json")
            .deliveryMode(1)
            .build();
    private static final AMQP.BasicProperties ROSTER_PROPS = PROPS.builder().type(ROSTER_TYPE).build();

    /**
     * The open connections of one WebSocket process, announced every {@code everyMillis}; an empty list with
     * {@code leaving} when it shuts down.
     */
    public record Roster(String process, List<String> connections, long everyMillis, boolean leaving) {
    }

    /** The process that announced a connection, and how often it sends its roster. */
    public record Sender(String process, long everyMillis) {
    }

    /** Called from the client's delivery thread; a message it cannot read throws {@link IllegalArgumentException}. */
    public interface Listener {
        void roster(Roster roster);

        void announcement(byte[] envelope, Optional<Sender> sender);
    }

    private final String exchange;
    private final String process;
    private final long everyMillis;
    private final AMQP.BasicProperties announcementProps;
    private final Channel publishing;
    private final Subscription subscription;

    public PresenceChannel(Broker broker, String process, Duration every, Listener listener) throws IOException {
        this.exchange = broker.names().presenceExchange();
        this.process = process;
        this.everyMillis = every.toMillis();
        this.announcementProps = PROPS.builder()
                .headers(Map.of(PROCESS_HEADER, process, EVERY_HEADER, everyMillis))
                .build();
        this.subscription = Subscription.toFanout(broker, exchange, "presence message", message -> {
            if (ROSTER_TYPE.equals(message.type())) {
                listener.roster(roster(message.body()));
            } else {
                listener.announcement(message.body(), sender(message.headers()));
            }
        });
        this.publishing = broker.openChannel();
    }

    public void announce(byte[] envelope) {
        publish(announcementProps, () -> envelope);
    }

    /**
     * Sends this process's roster. The connections are listed while holding the publishing lock, so an announcement
     * either comes before the roster and is in it, or comes after it.
     */
    public void roster(Supplier<List<String>> openConnections) {
        publish(ROSTER_PROPS, () -> Json.write(new Roster(process, openConnections.get(), everyMillis, false)));
    }

    /** Says this process is leaving: its connections were closed and announced. */
    public void leaving() {
        publish(ROSTER_PROPS, () -> Json.write(new Roster(process, List.of(), 0, true)));
    }

    private void publish(AMQP.BasicProperties props, Supplier<byte[]> body) {
        try {
            synchronized (publishing) {
                publishing.basicPublish(exchange, "", props, body.get());
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "Presence message not published (" + e.getMessage() + ")");
        }
    }

    private static Roster roster(byte[] body) {
        Roster roster = Json.read(body, Roster.class);
        if (roster.process() == null || roster.connections() == null) {
            throw new IllegalArgumentException("A roster names its process and its connections");
        }
        return roster;
    }

    private static Optional<Sender> sender(Map<String, Object> headers) {
        if (headers == null || headers.get(PROCESS_HEADER) == null || headers.get(EVERY_HEADER) == null) {
            return Optional.empty();
        }
        return Optional.of(new Sender(headers.get(PROCESS_HEADER).toString(),
                                      Long.parseLong(headers.get(EVERY_HEADER).toString())));
    }

    @Override
    public void close() {
        subscription.close();
        Channels.closeQuietly(publishing);
    }
}
