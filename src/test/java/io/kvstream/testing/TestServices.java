package io.kvstream.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.UUID;

import io.helidon.config.Config;
import io.kvstream.config.Settings;
import io.kvstream.embedded.EmbeddedBroker;
import io.kvstream.embedded.EmbeddedPostgres;

/**
 * The PostgreSQL and AMQP broker the tests run against: the machine's real servers when
 * {@code KVSTREAM_TEST_DB_URL} / {@code KVSTREAM_TEST_AMQP_URI} are set (CI sets them), otherwise embedded
 * ones started once per test JVM. Every test gets its own schema and exchange/queue prefix.
 */
public final class TestServices {
    private static EmbeddedPostgres embeddedPostgres;
    private static EmbeddedBroker embeddedBroker;

    private TestServices() {
    }

    public static synchronized Settings.Db db() {
        String url = System.getenv("KVSTREAM_TEST_DB_URL");
        Settings.Db configured = defaults().db();
        if (url != null && !url.isBlank()) {
            return configured.withUrl(url, env("KVSTREAM_TEST_DB_USERNAME", "postgres"),
                                      env("KVSTREAM_TEST_DB_PASSWORD", ""));
        }
        if (embeddedPostgres == null) {
            embeddedPostgres = start(dir -> EmbeddedPostgres.start(dir, 0), "pg");
        }
        return configured.withUrl(embeddedPostgres.jdbcUrl(), embeddedPostgres.username(),
                                  embeddedPostgres.password());
    }

    /** A plain JDBC session on {@code db} whose search path is kvstream's schema there, for reading the tables. */
    public static java.sql.Connection connect(Settings.Db db) throws java.sql.SQLException {
        java.sql.Connection connection = java.sql.DriverManager.getConnection(db.url(), db.username(), db.password());
        try (java.sql.Statement s = connection.createStatement()) {
            s.execute("SET search_path TO \"" + db.schema() + "\"");
        } catch (java.sql.SQLException e) {
            connection.close();
            throw e;
        }
        return connection;
    }

    /** The test servers' database, with kvstream's tables in {@code schema}. */
    public static Settings.Db db(String schema) {
        Settings.Db db = db();
        return db.withSchema(schema);
    }

    public static synchronized String amqpUri() {
        String uri = System.getenv("KVSTREAM_TEST_AMQP_URI");
        if (uri != null && !uri.isBlank()) {
            return uri;
        }
        if (embeddedBroker == null) {
            embeddedBroker = start(dir -> EmbeddedBroker.start(dir, 0), "amqp");
        }
        return embeddedBroker.amqpUri();
    }

    /** True when the tests run against the machine's real servers (as in CI). */
    public static boolean realServers() {
        String url = System.getenv("KVSTREAM_TEST_DB_URL");
        return url != null && !url.isBlank();
    }

    /** Settings for one test: its own schema and names, everything else as application.yaml says. */
    public static Settings settings(Settings.Role role, String schema, String prefix) {
        Settings defaults = defaults();
        return defaults.toBuilder()
                .role(role)
                .db(db(schema))
                .amqp(defaults.amqp().withUri(amqpUri()).withNamePrefix(prefix))
                .build();
    }

    /** The same settings with another {@code kvstream.ws.heartbeat}, e.g. to drop stalled clients quickly. */
    public static Settings withHeartbeat(Settings settings, java.time.Duration heartbeat) {
        Settings.Ws ws = settings.ws();
        return settings.toBuilder()
                .ws(new Settings.Ws(ws.queueSize(), ws.maxBufferedBytes(), ws.maxTotalBufferedBytes(), ws.maxReplays(), heartbeat, ws.allowedOrigins()))
                .build();
    }

    /** application.yaml as it ships. */
    private static Settings defaults() {
        return Settings.from(Config.create());
    }

    /**
     * A fresh lowercase name for a schema or exchange prefix, e.g. {@code t_values_1a2b3c4d}. On the machine's
     * real servers, what was created under it (schema, queues, exchanges) is dropped when the test JVM exits.
     */
    public static synchronized String uniqueName(String purpose) {
        String name = "t_" + purpose.toLowerCase(Locale.ROOT) + "_" + UUID.randomUUID().toString().substring(0, 8);
        if (CREATED.isEmpty()) {
            Runtime.getRuntime().addShutdownHook(new Thread(TestServices::dropCreated, "drop-test-names"));
        }
        CREATED.add(name);
        return name;
    }

    private static final java.util.List<String> CREATED = new java.util.concurrent.CopyOnWriteArrayList<>();

    private static void dropCreated() {
        if (!realServers()) {
            return;
        }
        Settings.Db db = db();
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(db.url(), db.username(), db.password());
             java.sql.Statement s = c.createStatement()) {
            for (String name : CREATED) {
                s.execute("DROP SCHEMA IF EXISTS \"" + name + "\" CASCADE");
            }
        } catch (java.sql.SQLException e) {
            System.err.println("Could not drop test schemas: " + e.getMessage());
        }
        com.rabbitmq.client.ConnectionFactory factory = new com.rabbitmq.client.ConnectionFactory();
        try {
            factory.setUri(amqpUri());
            try (com.rabbitmq.client.Connection connection = factory.newConnection("test-cleanup")) {
                for (String name : CREATED) {
                    try (com.rabbitmq.client.Channel channel = connection.createChannel()) {
                        channel.queueDelete(name + ".commands");
                        channel.exchangeDelete(name + ".events");
                        channel.exchangeDelete(name + ".event-batches");
                        channel.exchangeDelete(name + ".presence");
                        channel.exchangeDelete(name + ".sync-commands");
                    }
                }
            }
        } catch (Exception e) {
            System.err.println("Could not delete test queues: " + e.getMessage());
        }
    }

    private static String env(String name, String defaultValue) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? defaultValue : value;
    }

    private interface Starter<T extends AutoCloseable> {
        T start(Path dir) throws IOException;
    }

    private static <T extends AutoCloseable> T start(Starter<T> starter, String name) {
        try {
            Path dir = Files.createTempDirectory("kvstream-test-" + name);
            T server = starter.start(dir);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    server.close();
                } catch (Exception e) {
                    // the JVM is going away
                }
            }));
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
