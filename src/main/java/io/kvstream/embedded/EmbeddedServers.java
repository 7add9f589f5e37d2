package io.kvstream.embedded;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.kvstream.config.Settings;

/**
 * The all-in-one local default: in dev mode, the {@code all} role with no database URL starts a real
 * PostgreSQL, and with no AMQP URI an in-process AMQP 0-9-1 broker, both on 127.0.0.1 with their data under
 * {@code kvstream.data-dir}. Whatever is configured is used instead, and nothing is embedded in prod mode.
 */
public final class EmbeddedServers implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(EmbeddedServers.class.getName());

    private final Settings settings;
    private final List<AutoCloseable> started;
    private final String description;

    private EmbeddedServers(Settings settings, List<AutoCloseable> started, String description) {
        this.settings = settings;
        this.started = started;
        this.description = description;
    }

    /** Checks what must be configured and starts what may be embedded; the returned settings point at it. */
    public static EmbeddedServers startIfNeeded(Settings settings) {
        boolean needDb = !settings.db().configured();
        boolean needBroker = !settings.amqp().configured();
        if (!needDb && !needBroker) {
            return new EmbeddedServers(settings, List.of(), "");
        }
        if (settings.mode() == Settings.Mode.PROD) {
            throw new StartupException("prod mode needs kvstream.db.url (KVSTREAM_DB_URL) and kvstream.amqp.uri "
                                       + "(KVSTREAM_AMQP_URI); nothing is embedded in prod");
        }
        if (settings.role() != Settings.Role.ALL) {
            throw new StartupException("role " + settings.role().configName()
                                       + " needs KVSTREAM_DB_URL and KVSTREAM_AMQP_URI; only role all embeds servers");
        }
        Path dataDir = writableDataDir(settings.dataDir());
        List<AutoCloseable> started = new ArrayList<>();
        List<String> parts = new ArrayList<>();
        Settings resolved = settings;
        try {
            if (needDb) {
                EmbeddedPostgres postgres = EmbeddedPostgres.start(dataDir.resolve("postgres"), 0);
                started.add(postgres);
                resolved = resolved.toBuilder().db(settings.db().withUrl(postgres.jdbcUrl(), postgres.username(),
                                                                         postgres.password())).build();
                parts.add("PostgreSQL at " + postgres.jdbcUrl());
            }
            if (needBroker) {
                EmbeddedBroker broker = EmbeddedBroker.start(dataDir.resolve("broker"), 0);
                started.add(broker);
                resolved = resolved.toBuilder().amqp(settings.amqp().withUri(broker.amqpUri())).build();
                parts.add("AMQP broker at " + broker.amqpUri().replaceFirst("//[^@]*@", "//"));
            }
        } catch (IOException | RuntimeException e) {
            closeAll(started);
            throw new StartupException("Cannot start the embedded servers in " + dataDir + ": " + e.getMessage());
        }
        return new EmbeddedServers(resolved, started,
                                   "embedded " + String.join(" and ", parts) + ", data in " + dataDir);
    }

    private static Path writableDataDir(String configured) {
        Path dir = Path.of(configured).toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new StartupException("The data directory " + dir + " cannot be created (kvstream.data-dir / "
                                       + "KVSTREAM_DATA_DIR): " + e.getMessage());
        }
        if (!Files.isWritable(dir)) {
            throw new StartupException("The data directory " + dir + " is not writable (kvstream.data-dir / "
                                       + "KVSTREAM_DATA_DIR)");
        }
        return dir;
    }

    /** The settings with the embedded servers' addresses filled in. */
    public Settings settings() {
        return settings;
    }

    /** One line for the start-up banner; empty when nothing is embedded. */
    public String description() {
        return description;
    }

    @Override
    public void close() {
        closeAll(started.reversed());
    }

    private static void closeAll(List<AutoCloseable> servers) {
        for (AutoCloseable server : servers) {
            try {
                server.close();
            } catch (Exception e) {
                LOG.log(Level.WARNING, "Stopping an embedded server failed: " + e.getMessage());
            }
        }
    }
}
