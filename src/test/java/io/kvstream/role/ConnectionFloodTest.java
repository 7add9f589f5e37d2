package io.kvstream.role;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.kvstream.config.Settings;
import io.kvstream.testing.RawHttp;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import org.junit.jupiter.api.Test;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;

/**
 * A flood of connections cannot take a process down: it accepts at most {@code server.max-tcp-connections} at once,
 * below its file descriptor limit, and closes those that say nothing for {@code server.idle-connection-timeout},
 * including a request line that never ends, so the clients after them are served.
 */
class ConnectionFloodTest {
    private static final int MAX_CONNECTIONS = 4;

    @Test
    void theDefaultServerBoundsItsConnectionsAndClosesIdleOnes() {
        Config server = Config.create().get("server");

        assertThat(server.get("max-tcp-connections").asInt().get(), greaterThan(0));
        assertThat(server.get("idle-connection-timeout").as(Duration.class).get(),
                   lessThanOrEqualTo(Duration.ofMinutes(1)));
    }

    @Test
    void connectionsThatSayNothingAreClosedSoThatTheNextClientIsServed() throws IOException {
        Config server = Config.builder()
                .disableEnvironmentVariablesSource()
                .disableSystemPropertiesSource()
                .sources(ConfigSources.create(Map.of("server.max-tcp-connections", String.valueOf(MAX_CONNECTIONS),
                                                     "server.idle-connection-timeout", "PT1S",
                                                     "server.idle-connection-period", "PT1S")),
                         ConfigSources.classpath("application.yaml"))
                .build()
                .get("server");
        Settings settings = TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("flood"),
                                                  TestServices.uniqueName("flood"));
        List<Socket> flood = new ArrayList<>();
        try (TestNode node = TestNode.start(settings, 0, server)) {
            for (int i = 0; i < MAX_CONNECTIONS; i++) {
                Socket socket = new Socket("127.0.0.1", node.port());
                // Half a request line, never finished, on one; nothing at all on the others.
                if (i == 0) {
                    socket.getOutputStream().write("GET /values/fl".getBytes(StandardCharsets.US_ASCII));
                }
                flood.add(socket);
            }

            // Every place is taken: the next connection waits to be accepted until the silent ones are closed, so by
            // the time it is answered, their ends have arrived.
            RawHttp.Response answer = RawHttp.send(node.port(), "PUT /values/after-flood HTTP/1.1\r\nHost: x\r\n"
                                                                + "Content-Length: 2\r\n\r\nok");
            assertThat(answer.status(), is(200));
            for (Socket socket : flood) {
                socket.setSoTimeout(100);
                assertThat(RawHttp.readsToTheEnd(socket), is(true));
            }
            assertThat(node.value("after-flood").orElseThrow().value(), is("ok"));
        } finally {
            for (Socket socket : flood) {
                socket.close();
            }
        }
    }
}
