package io.kvstream.ws;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
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
import io.kvstream.http.QueryParameters;

/**
 * One client of {@code /events}. Everything it is sent goes through a queue bounded in messages and in bytes,
 * drained by its own virtual-thread writer, so the threads that fan out events never touch its socket: a client
 * whose queue overflows is closed with 1008 (and its socket dropped if the writer is stuck on it), and a client on
 * which one send has been stuck for the heartbeat timeout is dropped; nobody else waits.
 *
 * <p>With {@code ?since=R} the writer first catches up from the event log while live events are not queued at all
 * (etcd's unsynced watchers): page by page, each page bounded in events and bytes, until the log has nothing after
 * what it sent. Then it hands over: from that moment live events after the last replayed revision are queued, and
 * one more pass over the log sends whatever the live feed delivered before the handover (it is committed, so the
 * log has it). The writer skips revisions it already sent: no gap and no duplicate, and a long replay never counts
 * against the live queue.
 *
 * <p>With {@code ?prefix=P} or {@code ?key=K} ({@link EventFilter}) only matching domain events are queued and
 * replayed; the replay still pages the log by revision and passes over the others, so the hand-over and the
 * compaction check are the same as without a filter.
 *
 * <p>The same connection serves a Server-Sent Events client ({@link ServerSentEvents}): it writes through a
 * {@link Peer}, and the request's own thread is its writer ({@link #stream}).
 */
final class EventsConnection implements WsListener {
    private static final System.Logger LOG = System.getLogger(EventsConnection.class.getName());
    /** Why a client that is behind is dropped while all clients together hold their bound of queued bytes. */
    private static final String BEHIND_WHILE_ALL_QUEUES_FULL =
            "Too slow: behind while the messages waiting for all clients exceed their bound";
    private static final int REPLAY_PAGE = 500;
    private static final int MAX_SINCE_DIGITS = 18;
    /** The connection whose frames the current thread reads: Helidon reads each WebSocket on one thread. */
    private static final ThreadLocal<EventsConnection> READING = new ThreadLocal<>();

    /** What the writer sends next. */
    private sealed interface Outgoing permits Message, Ping, Close, Stop {
    }

    /** An envelope of the given type; {@code revision} is 0 for messages without one (presence, resync). */
    private record Message(String type, String json, long revision) implements Outgoing {
    }

    private record Ping() implements Outgoing {
    }

    /** Sends {@code lastMessage} (if any), then the close frame; the writer ends. */
    private record Close(Message lastMessage, int code, String reason) implements Outgoing {
    }

    private record Stop() implements Outgoing {
    }

    /** Where a connection's messages go: a WebSocket session, or a Server-Sent Events response. */
    interface Peer {
        /** Sends one envelope of the given type; {@code revision} is 0 for one without. */
        void send(String type, String json, long revision);

        void ping();

        /** Ends the stream: a close frame on a WebSocket (then the client answers), the response's end on SSE. */
        void close(int code, String reason);

        /** True if the client answers pings: one that stops answering is dropped. */
        boolean answersPings();
    }

    /** A WebSocket session as a peer. */
    private record WsPeer(WsSession session) implements Peer {
        @Override
        public void send(String type, String json, long revision) {
            session.send(json, true);
        }

        @Override
        public void ping() {
            session.ping(BufferData.empty());
        }

        @Override
        public void close(int code, String reason) {
            session.close(code, reason);
        }

        @Override
        public boolean answersPings() {
            return true;
        }
    }

    private final EventsEndpoint endpoint;
    private final String id;
    private final int capacity;
    private final long maxBufferedBytes;
    private final LinkedBlockingDeque<Outgoing> queue;
    /** Characters of the messages in {@link #queue} (one byte each for ASCII JSON). */
    private final AtomicLong queuedBytes = new AtomicLong();
    private final AtomicBoolean closing = new AtomicBoolean();
    private final AtomicBoolean ended = new AtomicBoolean();
    private volatile WsSession session;
    private volatile Peer peer;
    private volatile EventFilter filter = EventFilter.ALL;
    private volatile Thread writer;
    /** Domain events at or below this revision are not queued: being replayed (all of them), or replayed already. */
    private volatile long liveAfter;
    /** When the send in progress started; 0 when the writer is not sending. */
    private volatile long sendingSinceNanos;
    /** The last revision the writer sent or, with a filter, passed over; the writer's own. */
    private long lastSent;
    /** When the oldest ping still unanswered was sent; 0 when the client has answered everything. */
    private volatile long unansweredPingNanos;

    EventsConnection(EventsEndpoint endpoint, int capacity, long maxBufferedBytes) {
        this.endpoint = endpoint;
        this.id = "%012x".formatted(ThreadLocalRandom.current().nextLong() & 0xffff_ffff_ffffL);
        this.capacity = capacity;
        this.maxBufferedBytes = maxBufferedBytes;
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
            filter = EventFilter.of(session.prologue().query());
        } catch (IllegalArgumentException e) {
            dropped(Level.DEBUG, "bad_request", e.getMessage());
            session.send(Envelope.error(e.getMessage()).json(), true);
            session.close(WsCloseCodes.VIOLATED_POLICY, e.getMessage());
            return;
        }
        peer = new WsPeer(session);
        READING.set(this);
        register(since);
        writer = Thread.ofVirtual().name("events-writer-" + id).start(() -> write(since));
    }

    /**
     * Serves a Server-Sent Events client on the calling thread, which is its writer, until the stream ends (the
     * server closes it, or the client goes away and a write fails).
     */
    void stream(Peer sse, Long since, EventFilter wanted) {
        peer = sse;
        filter = wanted;
        writer = Thread.currentThread();
        register(since);
        try {
            write(since);
        } finally {
            end();
        }
    }

    /** Registered for presence at once; for domain events only once a replay has caught up (see write). */
    private void register(Long since) {
        liveAfter = since == null ? 0 : Long.MAX_VALUE;
        endpoint.opened(this);
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

    /** Queues a domain event if this client's filter wants it; {@code json} is built only then. */
    void send(DomainEvent event, Supplier<String> json) {
        if (filter.matches(event.key())) {
            send(Envelope.DOMAIN_EVENT, json.get(), event.revision());
        }
    }

    /** Queues a message for this client; a client that cannot keep up is closed, never waited for. */
    void send(String type, String json, long revision) {
        if (closing.get() || (revision > 0 && revision <= liveAfter)) {
            return;
        }
        long size = json.length();
        long queued = queuedBytes.addAndGet(size);
        boolean withinTotal = endpoint.queued(size);
        // One message larger than a bound still goes out when nothing else waits for this client: past the bound of
        // all clients together, only one that is behind (others wait) is dropped, not one that keeps up.
        boolean behind = queued != size;
        if ((behind && (queued > maxBufferedBytes || !withinTotal)) || !queue.offer(new Message(type, json, revision))) {
            queuedBytes.addAndGet(-size);
            endpoint.unqueued(size);
            tooSlow(withinTotal ? queueFull() : BEHIND_WHILE_ALL_QUEUES_FULL);
        }
    }

    private String queueFull() {
        return "Too slow: more than " + capacity + " messages or " + maxBufferedBytes + " bytes waiting";
    }

    /** Closes a client that cannot keep up (1008 with {@code reason}), dropping what waits for it. */
    private void tooSlow(String reason) {
        if (close(WsCloseCodes.VIOLATED_POLICY, reason, null, true)) {
            dropped(Level.INFO, "slow", reason);
        }
    }

    /** Counts and logs a client the server ends, with why. */
    void dropped(Level level, String reason, String detail) {
        WsMetrics.dropped(reason);
        LOG.log(level, "Dropping /events connection " + id + " (" + reason + "): " + detail);
    }

    /**
     * Queues a ping, or drops the client if a ping it was sent more than {@code timeoutNanos} ago is still
     * unanswered (a dead peer or a half-open connection), or if one send to it has been stuck that long (a client
     * that stopped reading: its socket buffers are full).
     */
    void heartbeat(long timeoutNanos) {
        if (closing.get()) {
            return;
        }
        long now = System.nanoTime();
        long unanswered = unansweredPingNanos;
        if (unanswered != 0 && now - unanswered > timeoutNanos) {
            dropped(Level.INFO, "unresponsive", "answered no ping");
            forceClose();
            return;
        }
        long sending = sendingSinceNanos;
        if (sending != 0 && now - sending > timeoutNanos) {
            dropped(Level.INFO, "stalled", "takes no data: a send has been blocked for "
                                           + TimeUnit.NANOSECONDS.toMillis(now - sending) + " ms");
            forceClose();
            return;
        }
        if (!queue.offer(new Ping())) {
            tooSlow(queueFull());
        }
    }

    /**
     * Sends {@code lastMessage} (if any) and a close frame after what is queued; with {@code dropQueued} the queued
     * messages are discarded first. Later messages are not sent. False if the connection was already closing.
     */
    boolean close(int code, String reason, Envelope lastMessage, boolean dropQueued) {
        if (!closing.compareAndSet(false, true)) {
            return false;
        }
        Close close = new Close(lastMessage == null ? null : new Message(lastMessage.type(), lastMessage.json(), 0),
                                code, reason);
        if (dropQueued || !queue.offer(close)) {
            clearQueue();
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
        clearQueue();
        queue.offer(new Stop());
        endpoint.closed(this);
    }

    /** Drops what is queued, each message's bytes taken back once: here, or by the writer that took it. */
    private void clearQueue() {
        List<Outgoing> dropped = new ArrayList<>();
        queue.drainTo(dropped);
        long bytes = dropped.stream().mapToLong(o -> o instanceof Message m ? m.json().length() : 0).sum();
        queuedBytes.addAndGet(-bytes);
        endpoint.unqueued(bytes);
    }

    private void write(Long since) {
        try {
            if (since != null && !replay(since)) {
                return;
            }
            while (handle(queue.take())) {
                // until closed
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

    /** Sends one queued item; false when the writer is done. */
    private boolean handle(Outgoing next) {
        switch (next) {
        case Message message -> {
            queuedBytes.addAndGet(-message.json().length());
            endpoint.unqueued(message.json().length());
            if (message.revision() > 0) {
                if (message.revision() <= lastSent) {
                    return true;
                }
                lastSent = message.revision();
            }
            transmit(() -> peer.send(message.type(), message.json(), message.revision()));
        }
        case Ping ping -> {
            if (unansweredPingNanos == 0 && peer.answersPings()) {
                unansweredPingNanos = System.nanoTime();
            }
            transmit(peer::ping);
        }
        case Close close -> {
            sendClose(close);
            return false;
        }
        case Stop stop -> {
            return false;
        }
        }
        return true;
    }

    /** Runs one send on the socket, marked so that a send stuck on a client that does not read can be noticed. */
    private void transmit(Runnable send) {
        sendingSinceNanos = System.nanoTime();
        try {
            send.run();
        } finally {
            sendingSinceNanos = 0;
        }
    }

    /**
     * Sends every stored event after {@code since}, then hands over to the live queue; false when the writer is
     * done: the log no longer has them (compacted, or {@code since} is from another history) and the client was told
     * to resync, or the connection was closed meanwhile; also when {@code kvstream.ws.max-replays} clients are
     * replaying already: each holds a page of the log while it is sent, so this one is told to retry (close 1013).
     */
    private boolean replay(long since) {
        if (!endpoint.startReplay()) {
            dropped(Level.INFO, "busy", "as many clients as kvstream.ws.max-replays are catching up already");
            sendClose(new Close(null, WsCloseCodes.TRY_AGAIN_LATER, "Too many clients catching up, retry"));
            return false;
        }
        try {
            return replayWithin(since);
        } finally {
            endpoint.replayDone();
        }
    }

    /** {@link #replay} once it holds one of the replays. */
    private boolean replayWithin(long since) {
        long compacted = read(endpoint.eventLog()::compactedRevision);
        long committed = read(endpoint.eventLog()::committedRevision);
        if (since < compacted || since > committed) {
            resync();
            return false;
        }
        lastSent = since;
        // Catch up while live events are not queued; between pages, send what else waits (presence, pings, close).
        if (!replayFromLog(true)) {
            return false;
        }
        // Hand over. Every event the live feed delivered before this line is committed, so the pass below finds it;
        // every later one after lastSent is queued. handle() skips what both bring.
        liveAfter = lastSent;
        if (!replayFromLog(false)) {
            return false;
        }
        liveAfter = lastSent;
        return true;
    }

    /**
     * Sends the logged events after {@link #lastSent}, one page (bounded in events and bytes) at a time, until the
     * log has nothing more; with {@code serveQueue} the queue is served between pages (it then holds no domain
     * event). False when the writer is done.
     */
    private boolean replayFromLog(boolean serveQueue) {
        while (true) {
            long after = lastSent;
            List<DomainEvent> page = read(() -> endpoint.eventLog().after(after, REPLAY_PAGE, maxBufferedBytes));
            if (page.isEmpty()) {
                return true;
            }
            if (page.getFirst().revision() != after + 1) {
                // compacted while we were reading
                resync();
                return false;
            }
            for (DomainEvent event : page) {
                if (filter.matches(event.key())) {
                    String json = Envelope.domainEvent(event).json();
                    transmit(() -> peer.send(Envelope.DOMAIN_EVENT, json, event.revision()));
                }
                lastSent = event.revision();
            }
            for (Outgoing waiting = serveQueue ? queue.poll() : null; waiting != null; waiting = queue.poll()) {
                if (!handle(waiting)) {
                    return false;
                }
            }
        }
    }

    private void resync() {
        dropped(Level.DEBUG, "resync", "its revision is no longer in the event log");
        closing.set(true);
        String json = Envelope.resyncRequired(endpoint.revision()).json();
        sendClose(new Close(new Message(Envelope.RESYNC_REQUIRED, json, 0), WsCloseCodes.NORMAL_CLOSE,
                            "Resync required"));
    }

    private void sendClose(Close close) {
        closing.set(true);
        try {
            Message last = close.lastMessage();
            if (last != null) {
                transmit(() -> peer.send(last.type(), last.json(), last.revision()));
            }
            transmit(() -> peer.close(close.code(), close.reason()));
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
        return QueryParameters.givenOnce(query, "since") ? revision("since", query.first("since").orElse("")) : null;
    }

    /** A revision a client resumes after ({@code since}, {@code Last-Event-ID}): a non-negative integer. */
    static long revision(String name, String text) {
        if (text.isEmpty() || text.length() > MAX_SINCE_DIGITS || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException(name + " must be a non-negative integer revision");
        }
        return Long.parseLong(text);
    }

    private static final class LogUnavailableException extends RuntimeException {
        LogUnavailableException(RuntimeException cause) {
            super(cause.getMessage(), cause);
        }
    }
}
