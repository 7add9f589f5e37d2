package io.kvstream.faults;

import java.io.IOException;
import java.net.ServerSocket;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;

import io.kvstream.config.Settings;
import io.kvstream.embedded.EmbeddedPostgres;
import io.kvstream.testing.LoadClient;
import io.kvstream.testing.RabbitTools;
import io.kvstream.testing.StoredEvents;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.Tools;
import io.kvstream.testing.WsClient;
import io.kvstream.wire.Names;
import io.kvstream.ws.KvHttp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.oneOf;

/**
 * Things break while many clients write and every acknowledged write is recorded; afterwards nothing
 * acknowledged is lost, nothing is applied twice, revisions are gap-free and every replica equals the table.
 * During an outage the API answers 503 or 504 (a request that hangs fails the load client's 15 s timeout).
 */
class FaultsIT {
    private static final int WRITERS = 16;

    @TempDir
    Path tmp;

    @Test
    void workerKilledMidBatchLosesNothingAndAppliesNothingTwice() throws Exception {
        String schema = TestServices.uniqueName("kill");
        String prefix = TestServices.uniqueName("kill");
        Settings settings = TestServices.settings(Settings.Role.API, schema, prefix);
        AtomicBoolean writing = new AtomicBoolean(true);
        Process worker = startWorker(settings);
        try (TestNode api = TestNode.start(settings); LoadClient load = new LoadClient()) {
            ExecutorService loop = load.start(WRITERS, 20, writing::get, w -> api.uri("/"));
            await().until(() -> load.acknowledged() > 500);
            worker.destroyForcibly(); // SIGKILL, mid-batch under this load
            worker.waitFor(30, TimeUnit.SECONDS);
            long acknowledgedAtKill = load.acknowledged();
            worker = startWorker(settings);
            await().atMost(Duration.ofSeconds(90)).until(() -> load.acknowledged() > acknowledgedAtKill + 500);
            writing.set(false);
            loop.close();

            assertThat(load.statuses().keySet(), everyItem(oneOf(200, 504)));
            StoredEvents.assertConsistent(settings.db(), load, List.of(api));
        } finally {
            worker.destroy();
            worker.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void brokerStoppedAndStartedAgainEveryProcessReconnects() throws Exception {
        Tools.require(TestServices.realServers(), "the machine's RabbitMQ (rabbitmqctl); CI sets KVSTREAM_TEST_*");
        String schema = TestServices.uniqueName("mq");
        String prefix = TestServices.uniqueName("mq");
        AtomicBoolean writing = new AtomicBoolean(true);
        try (TestNode worker = TestNode.start(TestServices.settings(Settings.Role.WORKER, schema, prefix));
             TestNode api1 = TestNode.start(TestServices.settings(Settings.Role.API, schema, prefix));
             TestNode api2 = TestNode.start(TestServices.settings(Settings.Role.API, schema, prefix));
             LoadClient load = new LoadClient()) {
            ExecutorService loop = load.start(WRITERS, 20, writing::get, w -> (w % 2 == 0 ? api1 : api2).uri("/"));
            await().until(() -> load.acknowledged() > 300);
            try {
                RabbitTools.rabbitmqctl("stop_app");
                long before = load.statuses().getOrDefault(503, 0L);
                await().until(() -> load.statuses().getOrDefault(503, 0L) > before + 20);
            } finally {
                RabbitTools.rabbitmqctl("start_app");
            }
            long acknowledgedAfterOutage = load.acknowledged();
            await().atMost(Duration.ofSeconds(90)).until(() -> load.acknowledged() > acknowledgedAfterOutage + 300);
            writing.set(false);
            loop.close();

            assertThat(load.statuses().keySet(), everyItem(oneOf(200, 503, 504)));
            StoredEvents.assertConsistent(TestServices.db(schema), load,
                                          List.of(api1, api2));
        }
    }

    @Test
    void brokerThatLostItsDefinitionsGetsThemBackQuietly() throws Exception {
        Tools.require(TestServices.realServers(), "the machine's RabbitMQ (rabbitmqctl); CI sets KVSTREAM_TEST_*");
        String prefix = TestServices.uniqueName("lost");
        Settings settings = TestServices.settings(Settings.Role.ALL, TestServices.uniqueName("lost"), prefix);
        Names names = new Names(prefix);
        List<String> recoveryErrors = new CopyOnWriteArrayList<>();
        Handler recorder = new Handler() {
            @Override
            public void publish(LogRecord record) {
                String thrown = record.getThrown() == null ? "" : record.getThrown().toString();
                if (record.getLevel().intValue() >= Level.WARNING.intValue()
                    && (thrown + record.getMessage()).contains("TopologyRecovery")) {
                    recoveryErrors.add(record.getMessage() + " " + thrown);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger.getLogger("").addHandler(recorder);
        try (TestNode node = TestNode.start(settings)) {
            KvHttp.put(node.port(), "before", "1");
            // What a broker that was reset (or replaced) no longer knows.
            ConnectionFactory factory = new ConnectionFactory();
            factory.setUri(settings.amqp().uri());
            try (Connection admin = factory.newConnection("test-admin"); Channel channel = admin.createChannel()) {
                channel.queueDelete(names.commandQueue());
                for (String exchange : List.of(names.eventsExchange(), names.eventBatchesExchange(),
                                               names.presenceExchange())) {
                    channel.exchangeDelete(exchange);
                }
            }
            RabbitTools.rabbitmqctl("close_connection", connectionPid("kvstream-all@" + prefix), "test: broker lost its definitions");

            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
                try (Connection admin = factory.newConnection("test-admin"); Channel channel = admin.createChannel()) {
                    channel.queueDeclarePassive(names.commandQueue());
                    channel.exchangeDeclarePassive(names.eventsExchange());
                    channel.exchangeDeclarePassive(names.eventBatchesExchange());
                    channel.exchangeDeclarePassive(names.presenceExchange());
                    return true;
                }
            });
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                    .until(() -> KvHttp.put(node.port(), "after", "2") > 1);
            assertThat(node.value("after").orElseThrow().value(), is("2"));
            assertThat(recoveryErrors, is(List.of()));
        } finally {
            Logger.getLogger("").removeHandler(recorder);
        }
    }

    /** The broker's id of the connection with this name, for rabbitmqctl close_connection. */
    private static String connectionPid(String connectionName) {
        String listing = RabbitTools.rabbitmqctl("list_connections", "pid", "client_properties");
        return listing.lines()
                .filter(line -> line.contains("\"" + connectionName + "\""))
                .map(line -> line.substring(0, line.indexOf('\t')))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no connection named " + connectionName + " in " + listing));
    }

    @Test
    void databaseRestartedWritesAnswer503ThenRecover() throws Exception {
        int port = freePort();
        Path dataDir = tmp.resolve("pg");
        EmbeddedPostgres postgres = EmbeddedPostgres.start(dataDir, port);
        String prefix = TestServices.uniqueName("pg");
        Settings base = TestServices.settings(Settings.Role.ALL, "kvstream", prefix);
        Settings settings = base.toBuilder().db(base.db().withUrl(postgres.jdbcUrl(), postgres.username(), postgres.password())).build();
        AtomicBoolean writing = new AtomicBoolean(true);
        try (TestNode node = TestNode.start(settings); LoadClient load = new LoadClient()) {
            ExecutorService loop = load.start(WRITERS, 20, writing::get, w -> node.uri("/"));
            await().until(() -> load.acknowledged() > 300);
            postgres.close();
            long before = load.statuses().getOrDefault(503, 0L);
            await().until(() -> load.statuses().getOrDefault(503, 0L) > before + 20);
            postgres = EmbeddedPostgres.start(dataDir, port);
            long acknowledgedAfterOutage = load.acknowledged();
            await().atMost(Duration.ofSeconds(90)).until(() -> load.acknowledged() > acknowledgedAfterOutage + 300);
            writing.set(false);
            loop.close();

            assertThat(load.statuses().keySet(), everyItem(oneOf(200, 503, 504)));
            StoredEvents.assertConsistent(settings.db(), load, List.of(node));
        } finally {
            postgres.close();
        }
    }

    @Test
    void apiStartedWhileWritesFlowMissesNothing() throws Exception {
        String schema = TestServices.uniqueName("late");
        String prefix = TestServices.uniqueName("late");
        AtomicBoolean writing = new AtomicBoolean(true);
        try (TestNode worker = TestNode.start(TestServices.settings(Settings.Role.WORKER, schema, prefix));
             TestNode early = TestNode.start(TestServices.settings(Settings.Role.API, schema, prefix));
             LoadClient load = new LoadClient()) {
            ExecutorService loop = load.start(WRITERS, 20, writing::get, w -> early.uri("/"));
            await().until(() -> load.acknowledged() > 300);
            try (TestNode late = TestNode.start(TestServices.settings(Settings.Role.API, schema, prefix))) {
                long acknowledgedAtStart = load.acknowledged();
                await().until(() -> load.acknowledged() > acknowledgedAtStart + 300);
                writing.set(false);
                loop.close();

                assertThat(load.statuses(), is(Map.of(200, load.acknowledged())));
                assertThat(late.revision(), greaterThan(0L));
                StoredEvents.assertConsistent(TestServices.db(schema), load,
                                              List.of(early, late));
            }
        }
    }

    /**
     * A WebSocket process killed with SIGKILL cannot announce that its clients are gone: the other WebSocket
     * processes notice its roster stopped and tell their clients each of its connections closed.
     */
    @Test
    void websocketProcessKilledItsConnectionsAreAnnouncedClosedElsewhere() throws Exception {
        String schema = TestServices.uniqueName("wskill");
        String prefix = TestServices.uniqueName("wskill");
        Settings settings = TestServices.settings(Settings.Role.ALL, schema, prefix)
                .toBuilder().ws(new Settings.Ws(1024, 4 * 1024 * 1024, 128 * 1024 * 1024, 16, Duration.ofMillis(300), "")).build();
        int port = freePort();
        try (TestNode survivor = TestNode.start(settings)) {
            Process doomed = startProcess(settings, "websocket", port, Map.of("KVSTREAM_WS_HEARTBEAT", "300ms"));
            try (WsClient watcher = WsClient.connect(WsClient.events(survivor.port(), ""))) {
                // Connecting fails until the process is up.
                WsClient victim = await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                        .until(() -> WsClient.connect(WsClient.events(port, "")), java.util.Objects::nonNull);
                await().atMost(Duration.ofSeconds(20)).until(() -> !victim.openedIds().isEmpty());
                String victimId = victim.openedIds().getFirst();
                await().atMost(Duration.ofSeconds(20)).until(() -> watcher.openedIds().contains(victimId));

                doomed.destroyForcibly(); // SIGKILL: no close frame, no connection_closed from it
                doomed.waitFor(30, TimeUnit.SECONDS);

                await().atMost(Duration.ofSeconds(20)).until(() -> watcher.ofType("connection_closed").contains(
                        "{\"type\":\"connection_closed\",\"route\":\"events\",\"from\":\"" + victimId
                        + "\",\"value\":\"Connection closed\"}"));
                victim.abort();
            } finally {
                doomed.destroyForcibly();
                doomed.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    private static Process startWorker(Settings settings) throws IOException {
        return startProcess(settings, "worker", freePort(), Map.of());
    }

    /** The jar as a process of its own, so it can be SIGKILLed; {@code extraEnv} on top of the test's settings. */
    private static Process startProcess(Settings settings, String role, int port, Map<String, String> extraEnv)
            throws IOException {
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                                    "-jar", Path.of("target", "kvstream.jar").toAbsolutePath().toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(Path.of("target", "faults-" + role + ".log").toFile()));
        Map<String, String> env = builder.environment();
        env.keySet().removeIf(name -> name.startsWith("KVSTREAM_") || name.startsWith("SERVER_"));
        env.put("KVSTREAM_ROLE", role);
        env.put("KVSTREAM_MODE", "prod");
        env.put("SERVER_PORT", Integer.toString(port));
        env.put("KVSTREAM_DB_URL", settings.db().url());
        env.put("KVSTREAM_DB_USERNAME", settings.db().username());
        env.put("KVSTREAM_DB_PASSWORD", settings.db().password());
        env.put("KVSTREAM_DB_SCHEMA", settings.db().schema());
        env.put("KVSTREAM_AMQP_URI", settings.amqp().uri());
        env.put("KVSTREAM_AMQP_NAME_PREFIX", settings.amqp().namePrefix());
        env.putAll(extraEnv);
        return builder.start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

}
