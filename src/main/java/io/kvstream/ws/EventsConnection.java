package io.kvstream.ws;

import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.uri.UriQuery;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.websocket.WsCloseCodes;
import io.helidon.websocket.WsListener;
import io.helidon.websocket.WsSession;
import io.helidon.websocket.WsUpgradeException;
import io.kvstream.domain.DomainEvent;

/**
 * One client of {@code /events}. Everything it is sent goes through a bounded queue drained by its own
 * virtual-thread writer, so the threads that fan out events never touch its socket: a client whose queue
 * overflows is closed with 1008 (and its socket dropped if the writer is stuck on it), and nobody else waits.
 *
 * <p>With {@code ?since=R} the connection is registered for live events first (they queue up), then the writer
 * replays the stored events after R from the event log, then drains the queue, skipping live events it already
 * sent during the replay: no gap and no duplicate.
 */
final class EventsConnection implements WsListener {
    private static final System.Logger LOG = System.getLogger(EventsConnection.class.getName());
    private static final int REPLAY_PAGE = 500;
    private static final int MAX_SINCE_DIGITS = 18;
    /** The connection whose frames the current thread reads: Helidon reads each WebSocket on one thread. */
    private static final ThreadLocal<EventsConnection> READING = new ThreadLocal<>();

    /** What the writer sends next. */
    private sealed interface Outgoing permits Message, Ping, Close, Stop {
    }

    /** A text message; {@code revision} is 0 for messages without one (presence). */
    private record Message(String json, long revision) implements Outgoing {
    }

    private record Ping() implements Outgoing {
    }

    /** Sends {@code lastMessage} (if any), then the close frame; the writer ends. */
    private record Close(String lastMessage, int code, String reason) implements Outgoing {
    }

    private record Stop() implements Outgoing {
    }

    private final EventsEndpoint endpoint;
    private final String id;
    private final int capacity;
    private final LinkedBlockingDeque<Outgoing> queue;
    private final AtomicBoolean closing = new AtomicBoolean();
    private final AtomicBoolean ended = new AtomicBoolean();
    private volatile WsSession session;
    private volatile Thread writer;
    /** When the oldest ping still unanswered was sent; 0 when the client has answered everything. */
    private volatile long unansweredPingNanos;

    EventsConnection(EventsEndpoint endpoint, int capacity) {
        this.endpoint = endpoint;
        this.id = "%012x".formatted(ThreadLocalRandom.current().nextLong() & 0xffff_ffff_ffffL);
        this.capacity = capacity;
        this.queue = new LinkedBlockingDeque<>(capacity);
    }

    String id() {
        return id;
    }

    boolean ended() {
        return ended.get();
    }

    @Override
    public Optional<Headers> onHttpUpgrade(HttpPrologue prologue, Headers headers) throws WsUpgradeException {
        if (!endpoint.allowsStream(headers.first(HeaderNames.AUTHORIZATION),
                                   prologue.query().first("access_token").asOptional())) {
            WsMetrics.dropped("unauthorized");
            throw new WsUpgradeException("A read token is required");
        }
        return Optional.empty();
    }

    @Override
    public void onOpen(WsSession session) {
        this.session = session;
        if (endpoint.shuttingDown()) {
            session.close(WsCloseCodes.GOING_AWAY, "Server shutting down");
            return;
        }
        Long since;
        try {
            since = since(session.prologue().query());
        } catch (IllegalArgumentException e) {
            WsMetrics.dropped("bad_request");
            session.send(Envelope.error(e.getMessage()).json(), true);
            session.close(WsCloseCodes.VIOLATED_POLICY, e.getMessage());
            return;
        }
        // Registered before the replay starts: whatever is delivered from now on waits in the queue.
        READING.set(this);
        endpoint.opened(this);
        writer = Thread.ofVirtual().name("events-writer-" + id).start(() -> write(since));
    }

    @Override
    public void onMessage(WsSession session, String text, boolean last) {
        unansweredPingNanos = 0;
    }

    @Override
    public void onPing(WsSession session, BufferData buffer) {
        unansweredPingNanos = 0;
        session.pong(buffer);
    }

    @Override
    public void onPong(WsSession session, BufferData buffer) {
        unansweredPingNanos = 0;
    }

    @Override
    public void onClose(WsSession session, int status, String reason) {
        READING.remove();
        end();
    }

    @Override
    public void onError(WsSession session, Throwable t) {
        READING.remove();
        LOG.log(Level.DEBUG, "Connection " + id + " failed: " + t.getMessage());
        end();
    }

    /**
     * Closes with 1002 the connection whose frames the current thread was reading when Helidon failed to parse one
     * (a reserved opcode escapes Helidon 4.5's frame reader as an exception, not as a protocol error); false if this
     * thread reads no connection. The caller then drops the socket.
     */
    static boolean closeReadingWithProtocolError() {
        EventsConnection connection = READING.get();
        if (connection == null) {
            return false;
        }
        READING.remove();
        WsMetrics.dropped("protocol_error");
        connection.end();
        try {
            connection.session.close(WsCloseCodes.PROTOCOL_ERROR, "Protocol error");
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "Closing connection " + connection.id + " failed: " + e.getMessage());
        }
        return true;
    }

    /** Queues a message for this client; a client that cannot keep up is closed, never waited for. */
    void send(String json, long revision) {
        if (closing.get()) {
            return;
        }
        if (!queue.offer(new Message(json, revision))) {
            tooSlow();
        }
    }

    private void tooSlow() {
        if (close(WsCloseCodes.VIOLATED_POLICY, "Too slow: more than " + capacity + " messages waiting", null, true)) {
            WsMetrics.dropped("slow");
        }
    }

    /**
     * Queues a ping, or drops the client if a ping it was sent more than {@code timeoutNanos} ago is still
     * unanswered (a dead peer or a half-open connection). A client still being replayed to is not pinged meanwhile.
     */
    void heartbeat(long timeoutNanos) {
        if (closing.get()) {
            return;
        }
        long unanswered = unansweredPingNanos;
        if (unanswered != 0 && System.nanoTime() - unanswered > timeoutNanos) {
            LOG.log(Level.DEBUG, "Connection " + id + " answered no ping, dropping it");
            WsMetrics.dropped("unresponsive");
            forceClose();
            return;
        }
        if (!queue.offer(new Ping())) {
            tooSlow();
        }
    }

    /**
     * Sends {@code lastMessage} (if any) and a close frame after what is queued; with {@code dropQueued} the queued
     * messages are discarded first. Later messages are not sent. False if the connection was already closing.
     */
    boolean close(int code, String reason, String lastMessage, boolean dropQueued) {
        if (!closing.compareAndSet(false, true)) {
            return false;
        }
        Close close = new Close(lastMessage, code, reason);
        if (dropQueued || !queue.offer(close)) {
            queue.clear();
            queue.offer(close);
        }
        endpoint.forceCloseLater(this);
        return true;
    }

    /** Drops the connection without a close handshake: for a client that does not read or does not answer. */
    void forceClose() {
        end();
        Thread w = writer;
        if (w != null) {
            // A writer blocked on a full socket: interrupting a virtual thread in socket I/O closes the socket.
            w.interrupt();
        }
        if (session instanceof ServerConnection connection) {
            connection.close(true);
        }
    }

    private void end() {
        if (!ended.compareAndSet(false, true)) {
            return;
        }
        closing.set(true);
        queue.clear();
        queue.offer(new Stop());
        endpoint.closed(this);
    }

    private void write(Long since) {
        try {
            long lastSent = 0;
            if (since != null) {
                lastSent = replay(since);
                if (lastSent < 0) {
                    return;
                }
            }
            while (true) {
                switch (queue.take()) {
                case Message message -> {
                    if (message.revision() > 0) {
                        if (message.revision() <= lastSent) {
                            continue;
                        }
                        lastSent = message.revision();
                    }
                    session.send(message.json(), true);
                }
                case Ping ping -> {
                    if (unansweredPingNanos == 0) {
                        unansweredPingNanos = System.nanoTime();
                    }
                    session.ping(BufferData.empty());
                }
                case Close close -> {
                    sendClose(close);
                    return;
                }
                case Stop stop -> {
                    return;
                }
                }
            }
        } catch (InterruptedException e) {
            // told to stop
        } catch (LogUnavailableException e) {
            if (!ended.get()) {
                LOG.log(Level.WARNING, "Cannot replay events for connection " + id + ": " + e.getMessage());
                sendClose(new Close(null, WsCloseCodes.TRY_AGAIN_LATER, "Event log unavailable, retry"));
            }
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "Sending to connection " + id + " failed: " + e.getMessage());
            forceClose();
        }
    }

    /**
     * Sends every stored event after {@code since}; returns the last revision sent, or -1 when the log no longer
     * has them (compacted, or {@code since} is from another history) and the client was told to resync.
     */
    private long replay(long since) {
        long compacted = read(endpoint.eventLog()::compactedRevision);
        long committed = read(endpoint.eventLog()::committedRevision);
        if (since < compacted || since > committed) {
            resync();
            return -1;
        }
        long last = since;
        while (true) {
            long after = last;
            List<DomainEvent> page = read(() -> endpoint.eventLog().after(after, REPLAY_PAGE));
            if (page.isEmpty()) {
                return last;
            }
            if (page.getFirst().revision() != last + 1) {
                // compacted while we were reading
                resync();
                return -1;
            }
            for (DomainEvent event : page) {
                session.send(Envelope.domainEvent(event).json(), true);
                last = event.revision();
            }
            if (page.size() < REPLAY_PAGE) {
                return last;
            }
        }
    }

    private void resync() {
        WsMetrics.dropped("resync");
        closing.set(true);
        sendClose(new Close(Envelope.resyncRequired(endpoint.revision()).json(), WsCloseCodes.NORMAL_CLOSE,
                            "Resync required"));
    }

    private void sendClose(Close close) {
        closing.set(true);
        try {
            if (close.lastMessage() != null) {
                session.send(close.lastMessage(), true);
            }
            session.close(close.code(), close.reason());
        } catch (RuntimeException e) {
            LOG.log(Level.DEBUG, "Closing connection " + id + " failed: " + e.getMessage());
            forceClose();
            return;
        }
        // The client should answer the close frame; if it does not read, drop it.
        endpoint.forceCloseLater(this);
    }

    private static <T> T read(Supplier<T> query) {
        try {
            return query.get();
        } catch (RuntimeException e) {
            throw new LogUnavailableException(e);
        }
    }

    /**
     * The {@code since} query parameter: absent means live events only; otherwise a non-negative integer revision.
     */
    static Long since(UriQuery query) {
        if (!query.contains("since")) {
            return null;
        }
        String text = query.first("since").orElse("");
        if (text.isEmpty() || text.length() > MAX_SINCE_DIGITS || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("since must be a non-negative integer revision");
        }
        return Long.parseLong(text);
    }

    private static final class LogUnavailableException extends RuntimeException {
        LogUnavailableException(RuntimeException cause) {
            super(cause.getMessage(), cause);
        }
    }
}
