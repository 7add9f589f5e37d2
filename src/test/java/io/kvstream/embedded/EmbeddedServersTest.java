package io.kvstream.embedded;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.BuiltinExchangeType;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.MessageProperties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EmbeddedServersTest {

    private static final System.Logger LOG = System.getLogger(EmbeddedServersTest.class.getName());
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    @Test
    void postgresKeepsDataAcrossRestart() throws Exception {
        Path dir = tmp.resolve("postgres");
        try (EmbeddedPostgres pg = timed("postgres first start", () -> EmbeddedPostgres.start(dir, 0))) {
            assertTrue(pg.jdbcUrl().matches("jdbc:postgresql://127\\.0\\.0\\.1:\\d+/postgres"), pg.jdbcUrl());
            assertEquals("postgres", pg.username());
            sql(pg, "CREATE TABLE kv (k text PRIMARY KEY, v text NOT NULL)");
            sql(pg, "INSERT INTO kv VALUES ('greeting', 'hello')");
        }
        try (EmbeddedPostgres pg = timed("postgres restart", () -> EmbeddedPostgres.start(dir, 0))) {
            assertEquals(List.of("greeting=hello"), query(pg, "SELECT k || '=' || v FROM kv"));
        }
    }

    @Test
    void postgresRestartsAfterItsJvmWasKilled() throws Exception {
        Path dir = tmp.resolve("postgres");
        Path ready = tmp.resolve("ready");
        Process jvm = new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                OrphaningMain.class.getName(), dir.toString(), ready.toString())
                .redirectErrorStream(true)
                .redirectOutput(tmp.resolve("jvm.log").toFile())
                .start();
        await().atMost(WAIT).until(() -> Files.exists(ready) || !jvm.isAlive());
        assertTrue(Files.exists(ready), () -> "child JVM failed: " + readQuietly(tmp.resolve("jvm.log")));

        jvm.destroyForcibly();
        await().atMost(WAIT).until(() -> !jvm.isAlive());
        long orphan = Long.parseLong(Files.readAllLines(dir.resolve("postmaster.pid")).getFirst().strip());
        assertTrue(ProcessHandle.of(orphan).map(ProcessHandle::isAlive).orElse(false), "postmaster outlives its JVM");

        try (EmbeddedPostgres pg = EmbeddedPostgres.start(dir, 0)) {
            assertEquals(List.of("survived"), query(pg, "SELECT v FROM kv"));
            assertFalse(ProcessHandle.of(orphan).map(ProcessHandle::isAlive).orElse(false));
        } finally {
            ProcessHandle.of(orphan).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    @Test
    void postgresCloseIsIdempotent() throws Exception {
        Path dir = tmp.resolve("postgres");
        EmbeddedPostgres pg = EmbeddedPostgres.start(dir, 0);
        int port = port(pg.jdbcUrl());
        assertTrue(accepts(port), "postgres listens on " + port);

        assertDoesNotThrow(pg::close);
        assertDoesNotThrow(pg::close);

        assertFalse(accepts(port), "postgres still listens on " + port + " after close");
        assertFalse(Files.exists(dir.resolve("postmaster.pid")), "postmaster.pid left behind: not shut down cleanly");
    }

    @Test
    void brokerKeepsConfirmedPersistentMessagesAcrossRestart() throws Exception {
        Path dir = tmp.resolve("broker");
        try (EmbeddedBroker broker = timed("broker first start", () -> EmbeddedBroker.start(dir, 0));
             com.rabbitmq.client.Connection connection = connect(broker)) {
            assertTrue(broker.amqpUri().matches("amqp://guest:guest@127\\.0\\.0\\.1:\\d+/"), broker.amqpUri());
            Channel channel = connection.createChannel();
            channel.confirmSelect();
            channel.queueDeclare("kv.commands", true, false, false, null);
            channel.basicPublish("", "kv.commands", MessageProperties.PERSISTENT_TEXT_PLAIN, utf8("put a=1"));
            channel.waitForConfirmsOrDie(5_000);
        }
        try (EmbeddedBroker broker = timed("broker restart", () -> EmbeddedBroker.start(dir, 0));
             com.rabbitmq.client.Connection connection = connect(broker)) {
            Channel channel = connection.createChannel();
            assertEquals(1, channel.queueDeclarePassive("kv.commands").getMessageCount());
            GetResponse message = channel.basicGet("kv.commands", true);
            assertNotNull(message);
            assertEquals("put a=1", new String(message.getBody(), StandardCharsets.UTF_8));
            assertNull(channel.basicGet("kv.commands", true));
        }
    }

    @Test
    void brokerFanoutDeliversToEveryBoundQueue() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start(tmp.resolve("broker"), 0);
             com.rabbitmq.client.Connection connection = connect(broker)) {
            Channel channel = connection.createChannel();
            channel.exchangeDeclare("kv.events", BuiltinExchangeType.FANOUT, true);
            for (String queue : List.of("pod-a", "pod-b")) {
                channel.queueDeclare(queue, false, true, true, null);
                channel.queueBind(queue, "kv.events", "");
            }
            channel.confirmSelect();
            channel.basicPublish("kv.events", "", MessageProperties.PERSISTENT_TEXT_PLAIN, utf8("event 7"));
            channel.waitForConfirmsOrDie(5_000);

            for (String queue : List.of("pod-a", "pod-b")) {
                GetResponse message = channel.basicGet(queue, true);
                assertNotNull(message, queue);
                assertEquals("event 7", new String(message.getBody(), StandardCharsets.UTF_8));
            }
        }
    }

    @Test
    void brokerHonoursSingleActiveConsumer() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start(tmp.resolve("broker"), 0);
             com.rabbitmq.client.Connection connection = connect(broker)) {
            Channel channel = connection.createChannel();
            AMQP.Queue.DeclareOk declared = channel.queueDeclare("kv.relay", true, false, false,
                    Map.of("x-single-active-consumer", true));
            assertEquals("kv.relay", declared.getQueue());

            List<String> first = new CopyOnWriteArrayList<>();
            List<String> second = new CopyOnWriteArrayList<>();
            Channel firstChannel = connection.createChannel();
            String firstTag = consume(firstChannel, "kv.relay", first);
            consume(connection.createChannel(), "kv.relay", second);
            for (int i = 1; i <= 3; i++) {
                channel.basicPublish("", "kv.relay", null, utf8("m" + i));
            }
            await().atMost(WAIT).until(() -> first.size() == 3);
            assertEquals(List.of("m1", "m2", "m3"), first);
            assertEquals(List.of(), second);

            firstChannel.basicCancel(firstTag);
            channel.basicPublish("", "kv.relay", null, utf8("m4"));
            await().atMost(WAIT).until(() -> second.size() == 1);
            assertEquals(List.of("m4"), second);
            assertEquals(3, first.size());
        }
    }

    @Test
    void brokerCloseIsIdempotent() throws Exception {
        EmbeddedBroker broker = EmbeddedBroker.start(tmp.resolve("broker"), 0);
        int port = port(broker.amqpUri());
        connect(broker).close();

        assertDoesNotThrow(broker::close);
        assertDoesNotThrow(broker::close);

        assertFalse(accepts(port), "broker still listens on " + port + " after close");
        assertThrows(IOException.class, () -> connect(broker), "AMQP connection after close");
    }

    /** Runs in a child JVM that the test kills, leaving its postmaster behind as an orphan. */
    public static final class OrphaningMain {
        public static void main(String[] args) throws Exception {
            EmbeddedPostgres pg = EmbeddedPostgres.start(Path.of(args[0]), 0);
            sql(pg, "CREATE TABLE kv (k text PRIMARY KEY, v text NOT NULL)");
            sql(pg, "INSERT INTO kv VALUES ('k', 'survived')");
            Files.createFile(Path.of(args[1]));
            new CountDownLatch(1).await();
        }
    }

    private interface Starter<T> {
        T start() throws IOException;
    }

    private static <T> T timed(String what, Starter<T> starter) throws IOException {
        long started = System.nanoTime();
        T server = starter.start();
        LOG.log(System.Logger.Level.INFO, "{0} took {1} ms", what, (System.nanoTime() - started) / 1_000_000);
        return server;
    }

    private static com.rabbitmq.client.Connection connect(EmbeddedBroker broker) throws Exception {
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(broker.amqpUri());
        return factory.newConnection("embedded-servers-test");
    }

    private static String consume(Channel channel, String queue, List<String> into) throws IOException {
        return channel.basicConsume(queue, true,
                (tag, delivery) -> into.add(new String(delivery.getBody(), StandardCharsets.UTF_8)), tag -> { });
    }

    /** The port of a {@code scheme://host:port/...} address. */
    private static int port(String address) {
        return URI.create(address.replaceFirst("^jdbc:", "")).getPort();
    }

    private static boolean accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static void sql(EmbeddedPostgres pg, String statement) throws SQLException {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl(), pg.username(), pg.password());
             Statement s = c.createStatement()) {
            s.execute(statement);
        }
    }

    private static List<String> query(EmbeddedPostgres pg, String select) throws SQLException {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl(), pg.username(), pg.password());
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(select)) {
            List<String> rows = new java.util.ArrayList<>();
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
            return rows;
        }
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
