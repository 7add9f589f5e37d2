package io.kvstream.ws;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.stream.LongStream;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.socket.SocketContext;
import io.helidon.common.uri.UriFragment;
import io.helidon.common.uri.UriPath;
import io.helidon.common.uri.UriQuery;
import io.helidon.http.HttpPrologue;
import io.helidon.http.Method;
import io.helidon.websocket.WsSession;
import io.kvstream.auth.Authenticator;
import io.kvstream.config.Settings;
import io.kvstream.domain.DomainEvent;
import io.kvstream.event.EventSequencer;
import io.kvstream.storage.Database;
import io.kvstream.storage.EventLog;
import io.kvstream.testing.TestServices;
import io.kvstream.wire.Broker;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * The per-client writer with the socket replaced by a session we control: a client whose writer is stuck
 * overflows its queue and gets exactly 1008 with a reason once the writer can move, while another client keeps
 * receiving. (Over a real socket a client that never reads cannot receive that close frame; see
 * {@link EventsEndpointTest#slowClientIsDisconnectedWhileOthersGetEverything}.)
 */
class EventsConnectionTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static Settings settings;
    private static Database database;
    private static Broker broker;

    @BeforeAll
    static void start() {
        settings = TestServices.settings(Settings.Role.WEBSOCKET, TestServices.uniqueName("wsconn"),
                                         TestServices.uniqueName("wsconn"));
        database = Database.open(settings.db(), "wsconn-test");
        broker = Broker.connect(settings.amqp(), "wsconn-test", WAIT);
    }

    @AfterAll
    static void stop() {
        broker.close();
        database.close();
    }

    @Test
    void overflowingClientGetsPolicyCloseWithReasonWhileOthersKeepReceiving() throws Exception {
        EventSequencer sequencer = new EventSequencer(new EventLog(database));
        EventsEndpoint endpoint = new EventsEndpoint(new Settings.Ws(4, 4 * 1024 * 1024, 128 * 1024 * 1024, 16, Duration.ofHours(1), ""),
                                                     new EventLog(database), sequencer, broker,
                                                     new Authenticator(settings.auth()));
        try {
            CountDownLatch release = new CountDownLatch(1);
            FakeSession stuck = new FakeSession(release);
            FakeSession fast = new FakeSession(null);
            EventsConnection stuckConnection = stuck.open(endpoint, 4);
            fast.open(endpoint, 64);
            List<DomainEvent> changes = LongStream.rangeClosed(1, 8)
                    .mapToObj(r -> DomainEvent.put("k" + r, "v" + r, r, "cmd-" + r, "2026-01-01T00:00:00Z"))
                    .toList();

            endpoint.onEvent(changes.getFirst());
            await().atMost(WAIT).until(() -> stuck.blocked);
            changes.stream().skip(1).forEach(endpoint::onEvent);

            List<String> events = changes.stream().map(e -> Envelope.domainEvent(e).json()).toList();

            await().atMost(WAIT).until(() -> fast.domainEvents().size() == events.size());
            assertThat(fast.domainEvents(), is(events));
            assertThat(stuck.closes.isEmpty(), is(true));

            release.countDown();
            await().atMost(WAIT).until(() -> !stuck.closes.isEmpty());
            assertThat(stuck.closes, is(List.of("1008 Too slow: more than 4 messages or 4194304 bytes waiting")));
            // Only what was already on its way; everything queued behind it was dropped.
            assertThat(stuck.sent.size(), is(1));
            await().atMost(WAIT).until(stuckConnection::ended);
        } finally {
            endpoint.close();
        }
    }

    /** A session whose first send blocks until {@code release} opens (a client that stopped reading). */
    private static final class FakeSession implements WsSession {
        final List<String> sent = new CopyOnWriteArrayList<>();
        final List<String> closes = new CopyOnWriteArrayList<>();
        volatile boolean blocked;
        private final CountDownLatch release;
        private EventsConnection connection;

        FakeSession(CountDownLatch release) {
            this.release = release;
        }

        EventsConnection open(EventsEndpoint endpoint, int queueSize) {
            connection = new EventsConnection(endpoint, queueSize, 4 * 1024 * 1024);
            connection.onOpen(this);
            return connection;
        }

        List<String> domainEvents() {
            return sent.stream().filter(m -> m.startsWith("{\"type\":\"domain_event\"")).toList();
        }

        @Override
        public WsSession send(String text, boolean last) {
            if (release != null && sent.isEmpty()) {
                blocked = true;
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
            sent.add(text);
            return this;
        }

        @Override
        public WsSession send(BufferData bufferData, boolean last) {
            throw new UnsupportedOperationException();
        }

        @Override
        public WsSession ping(BufferData bufferData) {
            return this;
        }

        @Override
        public WsSession pong(BufferData bufferData) {
            return this;
        }

        @Override
        public WsSession close(int code, String reason) {
            closes.add(code + " " + reason);
            connection.onClose(this, code, reason); // the client answers the close
            return this;
        }

        @Override
        public WsSession terminate() {
            return this;
        }

        @Override
        public SocketContext socketContext() {
            throw new UnsupportedOperationException();
        }

        @Override
        public HttpPrologue prologue() {
            return HttpPrologue.create("HTTP/1.1", "HTTP", "1.1", Method.GET, UriPath.create("/events"),
                                       UriQuery.empty(), UriFragment.empty());
        }
    }
}
