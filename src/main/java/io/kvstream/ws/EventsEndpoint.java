package io.kvstream.ws;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import io.helidon.http.Header;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Headers;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.websocket.WsConfig;
import io.helidon.webserver.websocket.WsRouting;
import io.helidon.websocket.WsCloseCodes;
import io.kvstream.auth.AuthException;
import io.kvstream.auth.Authenticator;
import io.kvstream.config.Settings;
import io.kvstream.domain.DomainEvent;
import io.kvstream.event.EventSequencer;
import io.kvstream.http.ApiError;
import io.kvstream.http.HeadOrGet;
import io.kvstream.storage.EventLog;
import io.kvstream.wire.Broker;

/**
 * The {@code /events} WebSocket and Server-Sent Events ({@link ServerSentEvents}): streams this process's exact event
 * sequence to every client, plus connection
 * opened/closed events shared with the other WebSocket processes over the broker. See {@link Envelope} for the
 * messages and {@link EventsConnection} for replay, the per-client writer and slow clients.
 *
 * <pre>
 * websocat 'ws://localhost:8080/events'            # live events from now on
 * websocat 'ws://localhost:8080/events?since=41'   # every stored event after revision 41, then live
 * websocat 'ws://localhost:8080/events?prefix=user:'   # only keys starting with user: ({@link EventFilter})
 * curl -N -H 'Accept: text/event-stream' localhost:8080/events?prefix=user:   # the same as Server-Sent Events
 * curl -X PUT localhost:8080/values/mykey -d myvalue
 * </pre>
 * Closing it (on shutdown) sends every client 1001 "Server shutting down" and waits briefly for the handshakes.
 */
public final class EventsEndpoint implements EventSequencer.Listener, AutoCloseable {
    /**
     * Bytes of one frame a client may send. A client of the stream sends nothing but pings, pongs and a close, and
     * Helidon holds a frame in memory until its last byte arrives, so its default (a MiB) would let each connection
     * that stops mid-frame pin that much; a longer frame is refused with close 1009 as soon as its header is read.
     */
    static final int MAX_CLIENT_FRAME = 4096;

    private static final HeaderName WEBSOCKET_KEY = HeaderNames.create("Sec-WebSocket-Key");
    private static final HeaderName WEBSOCKET_VERSION = HeaderNames.create("Sec-WebSocket-Version");
    private static final Header CONNECTION_UPGRADE = HeaderValues.create(HeaderNames.CONNECTION, "Upgrade");
    /** RFC 6455: the key is a random 16-byte value, base64-encoded. */
    private static final int WEBSOCKET_KEY_BYTES = 16;

    private static final System.Logger LOG = System.getLogger(EventsEndpoint.class.getName());
    /** How long a client gets to answer a close frame (or a stuck writer to get it out) before its socket is dropped. */
    static final Duration CLOSE_GRACE = Duration.ofSeconds(3);
    /** A client that leaves a ping unanswered for this many heartbeats is dropped. */
    private static final int MISSED_HEARTBEATS = 3;

    private final Settings.Ws settings;
    private final EventsOrigins origins;
    private final Authenticator auth;
    private final EventLog eventLog;
    private final EventSequencer sequencer;
    private final PresenceFeed presence;
    private final Set<EventsConnection> connections = ConcurrentHashMap.newKeySet();
    /** Characters of the messages queued for all connections together (one byte each for ASCII JSON). */
    private final AtomicLong queuedBytes = new AtomicLong();
    /** Replays under way at most: each holds a page of the log and its encoding while it is sent. */
    private final Semaphore replays;
    private final ScheduledExecutorService timer;
    private final Object drained = new Object();
    private volatile boolean shuttingDown;

    public EventsEndpoint(Settings.Ws settings, EventLog eventLog, EventSequencer sequencer, Broker broker,
                          Authenticator auth)
            throws IOException {
        if (settings.queueSize() < 1) {
            throw new IllegalArgumentException("kvstream.ws.queue-size must be at least 1");
        }
        if (settings.maxBufferedBytes() < 1) {
            throw new IllegalArgumentException("kvstream.ws.max-buffered-bytes must be at least 1");
        }
        if (settings.maxTotalBufferedBytes() < 1) {
            throw new IllegalArgumentException("kvstream.ws.max-total-buffered-bytes must be at least 1");
        }
        if (settings.maxReplays() < 1) {
            throw new IllegalArgumentException("kvstream.ws.max-replays must be at least 1");
        }
        this.settings = settings;
        this.replays = new Semaphore(settings.maxReplays());
        this.origins = EventsOrigins.of(settings.allowedOrigins());
        this.eventLog = eventLog;
        this.sequencer = sequencer;
        this.auth = auth;
        Duration heartbeat = settings.heartbeat().isPositive() ? settings.heartbeat() : Duration.ZERO;
        this.presence = new PresenceFeed(broker, this::onPresence,
                                         () -> connections.stream().map(EventsConnection::id).toList(), heartbeat);
        this.timer = Executors.newSingleThreadScheduledExecutor(Thread.ofVirtual().name("events-timer").factory());
        long period = heartbeat.toMillis();
        if (period > 0) {
            long timeout = heartbeat.multipliedBy(MISSED_HEARTBEATS).toNanos();
            timer.scheduleAtFixedRate(() -> {
                heartbeat(timeout);
                presence.announceRoster();
            }, period, period, TimeUnit.MILLISECONDS);
        }
    }

    /** With {@code kvstream.auth.protect-reads}, only a client with a read token may open the stream. */
    boolean allowsStream(Optional<String> authorization, Optional<String> accessToken) {
        return auth.allowsStream(authorization, accessToken);
    }

    /**
     * Serves {@code /events} on the server. An upgrade from a page that {@link EventsOrigins} does not admit is
     * refused with 403: Helidon checks the {@code Origin}, with the list of {@code kvstream.ws.allowed-origins} and
     * the server's own origin ({@link OwnOrListedOriginUpgrader}). A client frame may be {@link #MAX_CLIENT_FRAME}
     * long at most.
     */
    public void configure(WebServerConfig.Builder server) {
        server.addRouting(WsRouting.builder()
                                  .endpoint("/events", this::newConnection));
        server.addProtocol(WsConfig.builder().origins(origins.listed()).maxFrameLength(MAX_CLIENT_FRAME).build());
    }

    /**
     * Checks the token of an {@code /events} upgrade in an HTTP filter, which Helidon runs before it upgrades: a
     * missing or bad token is answered as for {@code GET /values}, 401 with {@code WWW-Authenticate} (403 without
     * the read scope), in the API's JSON error format, instead of the bare 400 of a refused WebSocket upgrade. A
     * WebSocket upgrade that Helidon 4.5.0 would mishandle is refused there too ({@link #malformedUpgrade}).
     */
    public void routing(HttpRouting.Builder routing) {
        routing.addFilter((chain, req, res) -> {
            if (req.path().path().equals("/events")) {
                try {
                    auth.requirePageRead(req, res);
                } catch (AuthException e) {
                    // Answered here, not by the error handlers, so that the filters after the answer still run: a
                    // Connection: close is honoured only for a request whose filters return.
                    WsMetrics.dropped(e.code());
                    ApiError.send(res, e.status(), e.code(), e.getMessage(), null, HeadOrGet.withBody(req));
                    return;
                }
                Optional<String> malformed = malformedUpgrade(req.headers());
                if (malformed.isPresent()) {
                    res.header(WEBSOCKET_VERSION, "13");
                    ServerSentEvents.badRequest(res, malformed.get(), HeadOrGet.withBody(req));
                    return;
                }
            }
            chain.proceed();
        });
        ServerSentEvents sse = new ServerSentEvents(this);
        routing.get("/events", sse::serve)
                .head("/events", sse::serve)
                .any("/events", (req, res) -> ApiError.methodNotAllowed(req, res, "GET, HEAD"));
    }

    /**
     * Why a request that asks for a WebSocket cannot have one, if so. Helidon 4.5.0 answers a key that is not base64
     * with a 500 (it decodes it unchecked), and a request with {@code Upgrade: websocket} but without {@code
     * Connection: Upgrade} twice (its upgrade routing answers, then its HTTP routing once more). The answer names the
     * version this server speaks ({@code Sec-WebSocket-Version: 13}), as RFC 6455 §4.4 asks of a refused handshake.
     */
    private static Optional<String> malformedUpgrade(Headers headers) {
        if (!headers.first(HeaderNames.UPGRADE).map("websocket"::equalsIgnoreCase).orElse(false)) {
            return Optional.empty();
        }
        if (!headers.containsToken(CONNECTION_UPGRADE)) {
            return Optional.of("A WebSocket upgrade needs Connection: Upgrade");
        }
        Optional<String> key = headers.first(WEBSOCKET_KEY);
        if (key.isEmpty() || decodedLength(key.get().trim()) != WEBSOCKET_KEY_BYTES) {
            return Optional.of("Sec-WebSocket-Key must be 16 bytes in base64");
        }
        // Helidon refuses another version itself, but upgrades a request that names none (RFC 6455 §4.2.1 requires 13).
        if (!headers.contains(WEBSOCKET_VERSION)) {
            return Optional.of("A WebSocket upgrade needs Sec-WebSocket-Version: 13");
        }
        return Optional.empty();
    }

    private static int decodedLength(String base64) {
        try {
            return Base64.getDecoder().decode(base64).length;
        } catch (IllegalArgumentException e) {
            return -1;
        }
    }

    EventsOrigins origins() {
        return origins;
    }

    /** A new client of {@code /events}, with this endpoint's queue bounds. */
    EventsConnection newConnection() {
        return new EventsConnection(this, settings.queueSize(), settings.maxBufferedBytes());
    }

    /** For the server's pre-routing error handler; see {@link EventsConnection#closeReadingWithProtocolError()}. */
    public static boolean closeReadingWithProtocolError() {
        return EventsConnection.closeReadingWithProtocolError();
    }

    @Override
    public void onEvent(DomainEvent event) {
        if (connections.isEmpty()) {
            return;
        }
        // Built once for all clients, and not at all when every client's filter leaves the event out.
        String[] json = new String[1];
        Supplier<String> envelope = () -> json[0] != null ? json[0] : (json[0] = Envelope.domainEvent(event).json());
        connections.forEach(c -> c.send(event, envelope));
    }

    /**
     * Events this process cannot deliver in order (compacted away before it saw them, or gone with a database restored
     * behind it): every client has a gap or holds what no longer exists, and must reload.
     */
    @Override
    public void onResync(long revision) {
        Envelope resync = Envelope.resyncRequired(revision);
        connections.forEach(c -> {
            if (c.close(WsCloseCodes.NORMAL_CLOSE, "Resync required", resync, false)) {
                c.dropped(Level.DEBUG, "resync", "the events after its revision cannot be delivered in order");
            }
        });
    }

    private void heartbeat(long timeoutNanos) {
        for (EventsConnection connection : connections) {
            try {
                connection.heartbeat(timeoutNanos);
            } catch (RuntimeException e) {
                // a failure with one client must not stop the heartbeat of the others
                LOG.log(Level.DEBUG, "Heartbeat of connection " + connection.id() + " failed: " + e.getMessage());
            }
        }
    }

    private void onPresence(Envelope envelope) {
        String json = envelope.json();
        connections.forEach(c -> c.send(envelope.type(), json, 0));
    }

    EventLog eventLog() {
        return eventLog;
    }

    /**
     * Counts {@code bytes} more queued for some connection; false if that takes all connections together past
     * {@code kvstream.ws.max-total-buffered-bytes}. Counted either way: a caller that then does not queue them takes
     * them back ({@link #unqueued}).
     */
    boolean queued(long bytes) {
        return queuedBytes.addAndGet(bytes) <= settings.maxTotalBufferedBytes();
    }

    /** Counts {@code bytes} fewer queued: sent, or dropped with their connection's queue. */
    void unqueued(long bytes) {
        queuedBytes.addAndGet(-bytes);
    }

    /** Takes one of the {@code kvstream.ws.max-replays} replays, if one is free; {@link #replayDone} gives it back. */
    boolean startReplay() {
        return replays.tryAcquire();
    }

    void replayDone() {
        replays.release();
    }

    long revision() {
        return sequencer.revision();
    }

    boolean shuttingDown() {
        return shuttingDown;
    }

    void opened(EventsConnection connection) {
        WsMetrics.opened();
        connections.add(connection);
        presence.publish(Envelope.connectionOpened(connection.id()));
    }

    void closed(EventsConnection connection) {
        if (connections.remove(connection)) {
            WsMetrics.closed();
            presence.publish(Envelope.connectionClosed(connection.id()));
            synchronized (drained) {
                drained.notifyAll();
            }
        }
    }

    void forceCloseLater(EventsConnection connection) {
        try {
            // On its own thread: dropping a stuck socket may block, and the timer also runs every heartbeat.
            timer.schedule(() -> Thread.ofVirtual().name("events-drop").start(() -> {
                if (!connection.ended()) {
                    connection.forceClose();
                }
            }), CLOSE_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // shutting down: close() drops whatever is left
        }
    }

    /** Sends 1001 to every client, waits up to {@link #CLOSE_GRACE} for them to answer, then drops the rest. */
    @Override
    public void close() {
        shuttingDown = true;
        connections.forEach(c -> {
            if (c.close(WsCloseCodes.GOING_AWAY, "Server shutting down", null, false)) {
                c.dropped(Level.DEBUG, "shutdown", "server shutting down");
            }
        });
        long deadline = System.nanoTime() + CLOSE_GRACE.toNanos();
        synchronized (drained) {
            while (!connections.isEmpty() && System.nanoTime() < deadline) {
                try {
                    drained.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        if (!connections.isEmpty()) {
            LOG.log(Level.INFO, connections.size() + " WebSocket client(s) did not answer the close, dropping them");
            connections.forEach(EventsConnection::forceClose);
        }
        timer.shutdownNow();
        presence.close();
    }
}
