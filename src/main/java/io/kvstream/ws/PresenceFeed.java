package io.kvstream.ws;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import io.kvstream.Broker;
import io.kvstream.Json;

/**
 * Connection opened/closed events shared by every WebSocket process over the presence fanout exchange. Each
 * process consumes from its own exclusive, server-named queue (re-created by the client after a broker outage),
 * and hears its own announcements too, so every client of every process sees the same presence events.
 * <p>
 * A process that dies without closing its connections (SIGKILL, a lost node) cannot announce their end, so every
 * process also announces its roster, the ids of its open connections, at each {@link #announceRoster} (the
 * endpoint's heartbeat), saying how often it does; its connection announcements carry the same two facts in
 * headers, so a connection opened between two rosters is known too. Another process that has heard nothing from
 * a process for {@link #MISSED_ROSTERS} of that process's rounds tells its own clients that each of its known
 * connections is closed. While this process's own broker connection is down it closes nothing, and after it
 * recovers every other process gets its full allowance again. A process that shuts down cleanly closes its
 * connections (which it announces) and then says it is leaving.
 * <p>
 * Presence is best effort: no revision, not stored, and an announcement made while the broker is away is lost.
 */
final class PresenceFeed implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PresenceFeed.class.getName());
    static final String ROSTER_TYPE = "kvstream.roster";
    static final String PROCESS_HEADER = "kvstream-process";
    static final String EVERY_HEADER = "kvstream-roster-every-ms";
    private static final int MISSED_ROSTERS = 3;
    private static final AMQP.BasicProperties PROPS = new AMQP.BasicProperties.Builder()
            .contentType("application/json")
            .deliveryMode(1)
            .build();
    private static final AMQP.BasicProperties ROSTER_PROPS = PROPS.builder().type(ROSTER_TYPE).build();

    /**
     * The open connections of one WebSocket process, announced every {@code everyMillis}; an empty list with
     * {@code leaving} when it shuts down.
     */
    record Roster(String process, List<String> connections, long everyMillis, boolean leaving) {
    }

    /** The last roster heard from another process, minus the connections closed since, and when it is overdue. */
    private record Heard(Set<String> connections, long everyNanos, long overdueAtNanos) {
        static Heard now(Set<String> connections, long everyMillis) {
            return new Heard(connections, TimeUnit.MILLISECONDS.toNanos(Math.max(1, everyMillis)), 0).heardAgain();
        }

        Heard heardAgain() {
            return new Heard(connections, everyNanos, System.nanoTime() + MISSED_ROSTERS * everyNanos);
        }
    }

    private final Broker broker;
    private final Consumer<Envelope> onPresence;
    private final Supplier<List<String>> openConnections;
    private final Duration every;
    private final String process = UUID.randomUUID().toString();
    private final AMQP.BasicProperties announcementProps;
    private final Map<String, Heard> others = new ConcurrentHashMap<>();
    private final Channel consuming;
    private final Channel publishing;

    /** {@code every}: how often {@link #announceRoster} runs (zero: never, and this process is never presumed dead). */
    PresenceFeed(Broker broker, Consumer<Envelope> onPresence, Supplier<List<String>> openConnections, Duration every)
            throws IOException {
        this.broker = broker;
        this.onPresence = onPresence;
        this.openConnections = openConnections;
        this.every = every;
        this.announcementProps = PROPS.builder()
                .headers(Map.of(PROCESS_HEADER, process, EVERY_HEADER, every.toMillis()))
                .build();
        this.consuming = broker.openChannel();
        String queue = consuming.queueDeclare("", false, true, true, Map.of()).getQueue();
        consuming.queueBind(queue, broker.settings().presenceExchange(), "");
        consuming.basicConsume(queue, true, (tag, delivery) -> {
            try {
                if (ROSTER_TYPE.equals(delivery.getProperties().getType())) {
                    heard(Json.read(delivery.getBody(), Roster.class));
                } else {
                    announced(Json.read(delivery.getBody(), Envelope.class), delivery.getProperties().getHeaders());
                }
            } catch (IllegalArgumentException | NullPointerException e) {
                LOG.log(Level.WARNING, "Ignoring malformed presence message: " + e.getMessage());
            }
        }, tag -> { });
        this.publishing = broker.openChannel();
        // What was not heard during an outage of this process's own broker connection says nothing about others.
        broker.onRecovery(() -> others.replaceAll((other, heard) -> heard.heardAgain()));
    }

    /** Announces a connection event to every WebSocket process, this one included. */
    void publish(Envelope envelope) {
        publish(announcementProps, () -> Json.write(envelope));
    }

    /**
     * Tells the other processes which connections this one holds (called every {@code every}), and closes, for this
     * process's clients, the connections of every process whose roster is overdue.
     */
    void announceRoster() {
        // Listed while holding the publishing lock: an announcement either comes before the roster and is in it,
        // or comes after it.
        publish(ROSTER_PROPS, () -> Json.write(new Roster(process, openConnections.get(), every.toMillis(), false)));
        if (!broker.isOpen()) {
            return;
        }
        long now = System.nanoTime();
        others.forEach((other, heard) -> {
            if (now - heard.overdueAtNanos() > 0 && others.remove(other, heard)) {
                LOG.log(Level.INFO, "WebSocket process " + other + " went silent: closing its "
                                    + heard.connections().size() + " connection(s)");
                heard.connections().forEach(id -> onPresence.accept(Envelope.connectionClosed(id)));
            }
        });
    }

    private void heard(Roster roster) {
        if (process.equals(roster.process())) {
            return;
        }
        if (roster.leaving()) {
            others.remove(roster.process());
            return;
        }
        Set<String> connections = ConcurrentHashMap.newKeySet();
        connections.addAll(roster.connections());
        others.put(roster.process(), Heard.now(connections, roster.everyMillis()));
    }

    private void announced(Envelope envelope, Map<String, Object> headers) {
        if (!envelope.announcesConnection()) {
            return;
        }
        if (Envelope.CONNECTION_CLOSED.equals(envelope.type())) {
            others.values().forEach(heard -> heard.connections().remove(envelope.from()));
        } else if (headers != null && headers.get(PROCESS_HEADER) != null && headers.get(EVERY_HEADER) != null) {
            String other = headers.get(PROCESS_HEADER).toString();
            long everyMillis = Long.parseLong(headers.get(EVERY_HEADER).toString());
            if (!process.equals(other) && everyMillis > 0) {
                others.compute(other, (key, heard) -> {
                    Heard alive = heard != null ? heard.heardAgain()
                                                : Heard.now(ConcurrentHashMap.newKeySet(), everyMillis);
                    alive.connections().add(envelope.from());
                    return alive;
                });
            }
        }
        onPresence.accept(envelope);
    }

    private void publish(AMQP.BasicProperties props, Supplier<byte[]> body) {
        try {
            synchronized (publishing) {
                publishing.basicPublish(broker.settings().presenceExchange(), "", props, body.get());
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "Presence message not published (" + e.getMessage() + ")");
        }
    }

    /** Says this process is leaving (its connections were closed and announced), then stops. */
    @Override
    public void close() {
        publish(ROSTER_PROPS, () -> Json.write(new Roster(process, List.of(), 0, true)));
        for (Channel channel : new Channel[] {consuming, publishing}) {
            try {
                if (channel.isOpen()) {
                    channel.close();
                }
            } catch (IOException | TimeoutException | RuntimeException e) {
                LOG.log(Level.DEBUG, "Closing presence channel", e);
            }
        }
    }
}
