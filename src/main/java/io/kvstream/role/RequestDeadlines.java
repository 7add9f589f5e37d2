package io.kvstream.role;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import io.helidon.common.socket.HelidonSocket;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import io.helidon.webserver.http1.Http1ConnectionListener;
import io.kvstream.config.Settings;

/**
 * Closes a connection whose client is too slow to send its request (slowloris) or to take its answer: the headers
 * must be complete within {@code kvstream.http.header-timeout} of the request line, the body read and the answer
 * written within {@code kvstream.http.body-timeout} of the headers (an answer whose client stops reading would hold
 * its bytes until the client went away). Helidon 4.5 bounds none of these: its {@code idle-connection-timeout} only
 * ends a connection between requests, and {@code connection-options.read-timeout} is not applied to accepted sockets.
 * <p>
 * Helidon reads each HTTP/1.1 connection on one (virtual) thread, and tells its receive listeners on that thread when
 * a request line and when the headers have been read; the routing filter runs on it too, around the handler. So a
 * deadline is kept per reading thread: set at the request line, moved at the headers, dropped
 * when the request has been answered and its body read. A sweeper closes the socket of every connection past its
 * deadline, which ends the blocked read or write. Nothing is watched between requests (idle keep-alive connections)
 * or for an {@code /events} request without a body: its SSE stream or upgraded connection lasts as long as its
 * client wants.
 */
final class RequestDeadlines implements Http1ConnectionListener, AutoCloseable {
    private static final System.Logger LOGGER = System.getLogger(RequestDeadlines.class.getName());
    private static final String STREAM_PATH = "/events";
    private static final String HEADERS = "headers";
    private static final String BODY = "body";
    private static final String ANSWER = "answer";

    private final Duration headerTimeout;
    private final Duration bodyTimeout;
    private final Map<Thread, Deadline> reading = new ConcurrentHashMap<>();
    private final ScheduledExecutorService sweeper;

    /**
     * The connection a thread reads, what it waits for, until when ({@link System#nanoTime()}), and whether its
     * request is for the event stream.
     */
    private record Deadline(ConnectionContext connection, String waitingFor, long nanos, boolean stream) {
    }

    RequestDeadlines(Settings.Http settings) {
        this.headerTimeout = settings.headerTimeout();
        this.bodyTimeout = settings.bodyTimeout();
        long period = Math.max(50, Math.min(headerTimeout.toMillis(), bodyTimeout.toMillis()) / 4);
        this.sweeper = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform()
                                                                          .name("kvstream-request-deadlines")
                                                                          .daemon()
                                                                          .factory());
        sweeper.scheduleWithFixedDelay(this::closeLate, period, period, TimeUnit.MILLISECONDS);
    }

    @Override
    public void prologue(ConnectionContext connection, HttpPrologue prologue) {
        watch(connection, HEADERS, headerTimeout, prologue.uriPath().path().equals(STREAM_PATH));
    }

    /**
     * A request with a body must have it read and be answered within the body timeout; one without, be answered:
     * an answer whose client stops reading holds its bytes until the socket closes. Not an {@code /events} request,
     * whose stream (SSE) or upgraded connection lasts as long as its client wants.
     */
    @Override
    public void headers(ConnectionContext connection, Headers headers) {
        Deadline current = reading.get(Thread.currentThread());
        boolean stream = current != null && current.stream();
        if (hasBody(headers)) {
            watch(connection, BODY, bodyTimeout, stream);
        } else if (stream) {
            reading.remove(Thread.currentThread());
        } else {
            watch(connection, ANSWER, bodyTimeout, false);
        }
    }

    /**
     * Routing filter: once answered, the request is no longer watched. If the handler did not read the body, it is
     * read here (as Helidon would after the filter) while the body deadline still runs; when the answer closes the
     * connection or is not sent yet (an exception on its way to the error handler), the deadline stays until the
     * thread reads its next request or ends.
     */
    void filter(FilterChain chain, RoutingRequest request, RoutingResponse response) {
        try {
            chain.proceed();
        } finally {
            if (request.content().consumed()) {
                reading.remove(Thread.currentThread());
            } else if (response.isSent() && !response.headers().containsToken(HeaderValues.CONNECTION_CLOSE)) {
                try {
                    drain(request);
                } finally {
                    reading.remove(Thread.currentThread());
                }
            }
        }
    }

    /**
     * Reads out a body the handler left (one of a declared length: a chunked request's connection ends with its
     * answer, {@link ConnectionClose}). One that cannot be read to its end (malformed, a chunk larger than
     * {@code server.max-payload-size}, the client gone or too slow) ends the connection: Helidon 4.5's {@code
     * consume()} would close the body's stream after the failure, and closing reads on in search of the body's end,
     * waiting for bytes that may never come.
     */
    private static void drain(RoutingRequest request) {
        InputStream body = request.content().inputStream();
        byte[] buffer = new byte[8192];
        try {
            while (body.read(buffer) > 0) {
                // dropped
            }
            body.close();
        } catch (IOException | RuntimeException e) {
            LOGGER.log(System.Logger.Level.TRACE, "request body not read to its end", e);
            throw new CloseConnectionException("Request body not read to its end", e);
        }
    }

    private void watch(ConnectionContext connection, String waitingFor, Duration timeout, boolean stream) {
        reading.put(Thread.currentThread(),
                    new Deadline(connection, waitingFor, System.nanoTime() + timeout.toNanos(), stream));
    }

    private static boolean hasBody(Headers headers) {
        if (headers.contains(HeaderNames.TRANSFER_ENCODING)) {
            return true;
        }
        try {
            return headers.contentLength().orElse(0) > 0;
        } catch (IllegalArgumentException e) {
            return false;  // Helidon answers 400 itself
        }
    }

    private void closeLate() {
        long now = System.nanoTime();
        Map<String, Integer> closed = new TreeMap<>();
        for (Map.Entry<Thread, Deadline> entry : reading.entrySet()) {
            Thread thread = entry.getKey();
            Deadline deadline = entry.getValue();
            if (!thread.isAlive()) {
                reading.remove(thread, deadline);
            } else if (now - deadline.nanos() > 0 && reading.remove(thread, deadline)) {
                close(deadline.connection());
                closed.merge(deadline.waitingFor(), 1, Integer::sum);
            }
        }
        if (!closed.isEmpty()) {
            LOGGER.log(System.Logger.Level.INFO,
                       "closed connection(s) whose request was late, by what it waited for: {0} (headers within {1} of"
                       + " the request line, body and answer within {2} of the headers: kvstream.http.header-timeout,"
                       + " kvstream.http.body-timeout)", closed, headerTimeout, bodyTimeout);
        }
    }

    private static void close(ConnectionContext connection) {
        try {
            HelidonSocket socket = connection.serverSocket();
            socket.close();
        } catch (RuntimeException e) {
            LOGGER.log(System.Logger.Level.DEBUG, "closing a late connection failed", e);
        }
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
    }
}
