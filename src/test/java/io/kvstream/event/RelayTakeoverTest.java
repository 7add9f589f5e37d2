package io.kvstream.event;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import io.kvstream.config.Settings;
import io.kvstream.testing.LoadClient;
import io.kvstream.testing.StoredEvents;
import io.kvstream.testing.TcpProxy;
import io.kvstream.testing.TestDeployment;
import io.kvstream.testing.TestNode;
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
             TestNode frozenLeader = TestNode.start(failingFast(Settings.Role.WORKER, network.jdbcUrl(direct.url())));
             LoadClient load = new LoadClient()) {
            await().atMost(GENEROUS).until(() -> leader().equals(Optional.of("kvstream-worker")));
            try (TestNode other = TestNode.start(failingFast(Settings.Role.ALL, direct.url()))) {
                assertThat(load.createOnce(other.uri("/"), "before", "relayed by the first leader", GENEROUS).status(),
                           is(200));

                network.freeze();
                for (int i = 0; i < 20; i++) {
                    assertThat(load.createOnce(other.uri("/"), "during-" + i, "v" + i, GENEROUS).status(), is(200));
                }

                assertThat(leader(), is(Optional.of("kvstream-all")));
                StoredEvents.assertConsistent(direct, load, List.of(other));
                network.thaw();
                assertThat(load.createOnce(other.uri("/"), "after", "thawed", GENEROUS).status(), is(200));
                StoredEvents.assertConsistent(direct, load, List.of(other));
            }
            // The cut-off worker did not hang on its dead session: once the network is back it leads again.
            try (TestNode api = TestNode.start(failingFast(Settings.Role.API, direct.url()))) {
                await().atMost(GENEROUS).until(() -> leader().equals(Optional.of("kvstream-worker")));
                assertThat(load.createOnce(api.uri("/"), "healed", "relayed by the first worker again", GENEROUS)
                                   .status(), is(200));
                StoredEvents.assertConsistent(direct, load, List.of(api));
            }
        }
    }

    /** Connections that notice a dead network within seconds, through the given URL. */
    private Settings failingFast(Settings.Role role, String url) {
        Settings settings = deployment.settings(role);
        Settings.Db db = settings.db();
        Settings.Connections connections = new Settings.Connections(Duration.ofSeconds(2), Duration.ofSeconds(4),
                                                                    Duration.ofSeconds(2), Duration.ofSeconds(3));
        return settings.toBuilder()
                .db(db.withUrl(url, db.username(), db.password()).withConnections(connections))
                .build();
    }

    /** The process (its pool's name) whose session holds the deployment's relay lock, if any. */
    private Optional<String> leader() throws SQLException {
        Settings.Db db = deployment.settings(Settings.Role.ALL).db();
        try (Connection c = DriverManager.getConnection(db.url(), db.username(), db.password());
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
