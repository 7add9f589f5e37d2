package io.kvstream.embedded;

import java.io.IOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.qpid.server.SystemLauncher;
import org.apache.qpid.server.SystemLauncherListener;
import org.apache.qpid.server.model.Broker;
import org.apache.qpid.server.model.SystemConfig;

/**
 * Apache Qpid Broker-J in-process, for the all-in-one local mode: AMQP 0-9-1 on 127.0.0.1, durable queues and
 * persistent messages in a Derby store under the data directory.
 */
public final class EmbeddedBroker implements AutoCloseable {

    private static final String INITIAL_CONFIG = "/embedded/qpid-initial-config.json";

    private final SystemLauncher launcher;
    private final int port;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EmbeddedBroker(SystemLauncher launcher, int port) {
        this.launcher = launcher;
        this.port = port;
    }

    /** Starts the broker with its state in {@code dataDir}, AMQP on 127.0.0.1 only. */
    public static EmbeddedBroker start(Path dataDir, int port) throws IOException {
        Path dir = dataDir.toAbsolutePath().normalize();
        Files.createDirectories(dir);
        int amqpPort = FreePort.orPick(port);
        URL initialConfig = EmbeddedBroker.class.getResource(INITIAL_CONFIG);
        if (initialConfig == null) {
            throw new IOException("Missing classpath resource " + INITIAL_CONFIG);
        }

        // The initial config is only read when config.json does not exist yet; the port stays a context
        // variable in the stored config, so each start can use a different one.
        Map<String, Object> systemConfig = Map.of(
                SystemConfig.TYPE, "JSON",
                SystemConfig.INITIAL_CONFIGURATION_LOCATION, initialConfig.toExternalForm(),
                SystemConfig.STARTUP_LOGGED_TO_SYSTEM_OUT, false,
                SystemConfig.CONTEXT, Map.of(
                        "qpid.work_dir", dir.toString(),
                        "kvstream.amqp_port", Integer.toString(amqpPort),
                        // without these a port that cannot bind or a store that cannot open only logs a warning
                        Broker.BROKER_FAIL_STARTUP_WITH_ERRORED_CHILD, "true",
                        Broker.BROKER_FAIL_STARTUP_WITH_ERRORED_CHILD_SCOPE, "ALL"));

        AtomicReference<RuntimeException> failure = new AtomicReference<>();
        SystemLauncher launcher = new SystemLauncher(new SystemLauncherListener.DefaultSystemLauncherListener() {
            @Override
            public void errorOnStartup(RuntimeException e) {
                failure.set(e);
            }
        });
        try {
            launcher.startup(systemConfig);
        } catch (Exception e) {
            launcher.shutdown();
            throw new IOException("Qpid broker did not start in " + dir, e);
        }
        // SystemLauncher reports startup failures to its listener and has already cleaned up
        if (failure.get() != null) {
            throw new IOException("Qpid broker did not start in " + dir, failure.get());
        }
        return new EmbeddedBroker(launcher, amqpPort);
    }

    public String amqpUri() {
        return "amqp://guest:guest@127.0.0.1:" + port + "/";
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            launcher.shutdown();
        }
    }
}
