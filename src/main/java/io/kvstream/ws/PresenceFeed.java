package io.kvstream.ws;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

import io.kvstream.wire.Broker;
import io.kvstream.wire.Json;
import io.kvstream.wire.PresenceChannel;

/**
 * Connection opened/closed events shared by every WebSocket process over the presence exchange
 * ({@link PresenceChannel}), so every client of every process sees the same presence events.
 * <p>
 * A process that dies without closing its connections (SIGKILL, a lost node) cannot announce their end, so every
 * process also announces its roster, the ids of its open connections, at each {@link #announceRoster} (the
 * endpoint's heartbeat), saying how often it does; its connection announcements carry the same two facts, so a
 * connection opened between two rosters is known too. Another process that has heard nothing from a process for
 * {@link #MISSED_ROSTERS} of that process's rounds tells its own clients that each of its known connections is
 * closed. While this process's own broker connection is down it closes nothing, and after it recovers every other
 * process gets its full allowance again. A process that shuts down cleanly closes its connections (which it
 * announces) and then says it is leaving.
 */
final class PresenceFeed implements AutoCloseable, PresenceChannel.Listener {
    private static final System.Logger LOG = System.getLogger(PresenceFeed.class.getName());
    private static final int MISSED_ROSTERS = 3;

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
    private final String process = UUID.randomUUID().toString();
    private final Map<String, Heard> others = new ConcurrentHashMap<>();
    private final PresenceChannel channel;

    /** {@code every}: how often {@link #announceRoster} runs (zero: never, and this process is never presumed dead). */
    PresenceFeed(Broker broker, Consumer<Envelope> onPresence, Supplier<List<String>> openConnections, Duration every)
            throws IOException {
        this.broker = broker;
        this.onPresence = onPresence;
        this.openConnections = openConnections;
        this.channel = new PresenceChannel(broker, process, every, this);
        // What was not heard during an outage of this process's own broker connection says nothing about others.
        broker.onRecovery(() -> others.replaceAll((other, heard) -> heard.heardAgain()));
    }

    /** Announces a connection event to every WebSocket process, this one included. */
    void publish(Envelope envelope) {
        channel.announce(Json.write(envelope));
    }

    /**
     * Tells the other processes which connections this one holds (called every {@code every}), and closes, for this
     * process's clients, the connections of every process whose roster is overdue.
     */
    void announceRoster() {
        channel.roster(openConnections);
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

    @Override
    public void roster(PresenceChannel.Roster roster) {
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

    @Override
    public void announcement(byte[] body, Optional<PresenceChannel.Sender> sender) {
        Envelope envelope = Json.read(body, Envelope.class);
        if (!envelope.announcesConnection()) {
            return;
        }
        if (Envelope.CONNECTION_CLOSED.equals(envelope.type())) {
            others.values().forEach(heard -> heard.connections().remove(envelope.from()));
        } else if (sender.isPresent() && !process.equals(sender.get().process()) && sender.get().everyMillis() > 0) {
            others.compute(sender.get().process(), (key, heard) -> {
                Heard alive = heard != null ? heard.heardAgain()
                                            : Heard.now(ConcurrentHashMap.newKeySet(), sender.get().everyMillis());
                alive.connections().add(envelope.from());
                return alive;
            });
        }
        onPresence.accept(envelope);
    }

    /** Says this process is leaving (its connections were closed and announced), then stops. */
    @Override
    public void close() {
        channel.leaving();
        channel.close();
    }
}
