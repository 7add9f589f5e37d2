package io.kvstream.event;

import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.LongStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;

import io.kvstream.config.Settings;
import io.kvstream.testing.LoadClient;
import io.kvstream.testing.StoredEvents;
import io.kvstream.testing.TcpProxy;
import io.kvstream.testing.TestDeployment;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.wire.Json;
import io.kvstream.wire.Names;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * The relay's lead passes on when its holder is cut off without its connection closing: the network to PostgreSQL
 * freezes (no FIN, no RST; the proxy keeps both sockets open, as a dead node's peer would), the server ends the silent
 * lead session ({@code kvstream.db.idle-session-timeout}), and another worker leads; nothing relayed is lost or
 * applied twice. Timeouts are shortened so the test takes seconds; its waits are generous and assert no duration.
 */
class RelayTakeoverTest {
    private static final Duration GENEROUS = Duration.ofSeconds(120);
    private final TestDeployment deployment = TestDeployment.fresh("takeover");

    @Test
    void frozenLeadersLockIsReleasedAndTheOtherWorkerRelaysEveryWrite() throws Exception {
        Settings.Db direct = deployment.settings(Settings.Role.ALL).db();
        try (TcpProxy network = TcpProxy.toDatabase(direct.url());
             TestNode frozenLeader = TestNode.start(deployment.failingFast(Settings.Role.WORKER,
                                                                           network.jdbcUrl(direct.url())));
             RelayedRevisions relayed = new RelayedRevisions(deployment.prefix());
             LoadClient load = new LoadClient()) {
            await().atMost(GENEROUS).until(() -> leader().equals(Optional.of("kvstream-worker")));
            try (TestNode other = TestNode.start(deployment.failingFast(Settings.Role.ALL, direct.url()))) {
                assertThat(load.createOnce(other.uri("/"), "before", "relayed by the first leader", GENEROUS).status(),
                           is(200));

                network.freeze();
                for (int i = 0; i < 20; i++) {
                    assertThat(load.createOnce(other.uri("/"), "during-" + i, "v" + i, GENEROUS).status(), is(200));
                }

                // A replica also reads missed events from the table (its catch-up), so the answers alone do not show
                // that the events were relayed: the broker's events exchange must carry every revision.
                await().atMost(GENEROUS).until(() -> leader().equals(Optional.of("kvstream-all")));
                await().atMost(GENEROUS).until(() -> relayed.revisions().containsAll(
                        LongStream.rangeClosed(1, 21).boxed().toList()));
                StoredEvents.assertConsistent(direct, load, List.of(other));
                network.thaw();
                assertThat(load.createOnce(other.uri("/"), "after", "thawed", GENEROUS).status(), is(200));
                StoredEvents.assertConsistent(direct, load, List.of(other));
            }
            // The cut-off worker did not hang on its dead session: once the network is back it leads again.
            try (TestNode api = TestNode.start(deployment.failingFast(Settings.Role.API, direct.url()))) {
                await().atMost(GENEROUS).until(() -> leader().equals(Optional.of("kvstream-worker")));
                assertThat(load.createOnce(api.uri("/"), "healed", "relayed by the first worker again", GENEROUS)
                                   .status(), is(200));
                StoredEvents.assertConsistent(direct, load, List.of(api));
            }
        }
    }

    /** The revisions of the events relayed to the deployment's public events exchange, as a consumer sees them. */
    private static final class RelayedRevisions implements AutoCloseable {
        private final Set<Long> revisions = ConcurrentHashMap.newKeySet();
        private final Connection connection;

        RelayedRevisions(String prefix) throws Exception {
            ConnectionFactory factory = new ConnectionFactory();
            factory.setUri(TestServices.amqpUri());
            connection = factory.newConnection("relayed-revisions");
            Channel channel = connection.createChannel();
            String queue = channel.queueDeclare().getQueue();
            channel.queueBind(queue, new Names(prefix).eventsExchange(), "");
            channel.basicConsume(queue, true, (tag, delivery) -> revisions.add(
                    Json.read(delivery.getBody(), JsonNode.class).get("revision").asLong()), tag -> { });
        }

        Set<Long> revisions() {
            return revisions;
        }

        @Override
        public void close() throws Exception {
            connection.close();
        }
    }

    /** The process (its pool's name) whose session holds the deployment's relay lock, if any. */
    private Optional<String> leader() throws SQLException {
        Settings.Db db = deployment.settings(Settings.Role.ALL).db();
        try (java.sql.Connection c = DriverManager.getConnection(db.url(), db.username(), db.password());
             PreparedStatement query = c.prepareStatement(
                     "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                     + " WHERE l.locktype = 'advisory' AND l.granted"
                     + " AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtext(?)::bigint")) {
            query.setString(1, "kvstream_events_" + deployment.schema());
            try (ResultSet rs = query.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
            }
        }
    }
}
