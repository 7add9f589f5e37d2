package io.kvstream;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

import io.helidon.config.Config;
import io.helidon.logging.common.LogConfig;
import io.helidon.webserver.WebServer;
import io.kvstream.config.Settings;
import io.kvstream.embedded.EmbeddedServers;
import io.kvstream.embedded.StartupException;
import io.kvstream.role.MigrateRole;
import io.kvstream.role.RunningRole;

/**
 * Starts kvstream in the role its configuration names ({@code kvstream.role}, env {@code KVSTREAM_ROLE}); the
 * {@code migrate} role brings the database schema up to date and exits instead.
 * With nothing configured it runs everything in one process on embedded PostgreSQL and AMQP servers:
 * <pre>
 * java -jar target/kvstream.jar
 * curl -X PUT localhost:8080/values/mykey -d myvalue
 * </pre>
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        LogConfig.configureRuntime();
        Config config = Config.create();
        EmbeddedServers embedded = null;
        RunningRole app = null;
        try {
            Settings configured = Settings.from(config);
            if (configured.role() == Settings.Role.MIGRATE) {
                System.exit(migrate(configured, config));
            }
            requireFreePort(config);
            embedded = EmbeddedServers.startIfNeeded(configured);
            Settings settings = embedded.settings();
            app = RunningRole.start(settings);
            WebServer server = app.server(config.get("server")).build().start();
            if (!server.isRunning()) {
                throw new StartupException("the web server did not start on port "
                                           + port(config)
                                           + " (is it in use? set SERVER_PORT)");
            }
            Runtime.getRuntime().addShutdownHook(new Thread(stopInOrder(server, app, embedded), "kvstream-shutdown"));
            System.out.println(banner(settings, server.port(), embedded.description()));
        } catch (RuntimeException e) {
            if (app != null) {
                app.close();
            }
            if (embedded != null) {
                embedded.close();
            }
            System.err.println("kvstream cannot start: " + explain(e, config));
            System.exit(1);
        }
    }

    /** The migrate role: says what it did and returns 0, or why it failed and returns 1 (a Job's exit code). */
    private static int migrate(Settings settings, Config config) {
        try {
            System.out.println("kvstream migrate: " + MigrateRole.run(settings));
            return 0;
        } catch (RuntimeException e) {
            System.err.println("kvstream migrate failed: " + explain(e, config));
            return 1;
        }
    }

    /** Fails before anything is started when the HTTP port is taken, so the operator sees why at once. */
    private static void requireFreePort(Config config) {
        int port = port(config);
        if (port == 0) {
            return;
        }
        String host = config.get("server.host").asString().get();
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(host, port));
        } catch (IOException e) {
            throw new StartupException("port " + port + " is already in use; stop what uses it or set SERVER_PORT");
        }
    }

    /** SIGTERM / Ctrl-C: stop taking requests and finish in-flight ones, drain the worker, stop the servers. */
    private static Runnable stopInOrder(WebServer server, RunningRole app, EmbeddedServers embedded) {
        return () -> {
            app.stopStreams();
            server.stop();
            app.close();
            embedded.close();
            System.out.println("kvstream stopped");
        };
    }

    private static int port(Config config) {
        return config.get("server.port").asInt().get();
    }

    private static String banner(Settings settings, int port, String embedded) {
        String role = settings.role().configName();
        String base = "http://localhost:" + port;
        StringBuilder line = new StringBuilder("kvstream ").append(role).append(" ready: ");
        if (settings.role().servesApi()) {
            line.append(base).append("/ (page), ").append(base).append("/values/{key} (API), ");
        }
        if (settings.role().servesEvents()) {
            line.append("ws://localhost:").append(port).append("/events (stream), ");
        }
        line.append(base).append("/observe/health");
        if (!embedded.isEmpty()) {
            line.append(" — ").append(embedded);
        }
        return line.toString();
    }

    private static String explain(RuntimeException e, Config config) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BindException) {
                int port = port(config);
                return "port " + port + " is already in use; stop what uses it or set SERVER_PORT";
            }
            if (t instanceof StartupException || t instanceof IllegalArgumentException) {
                return t.getMessage();
            }
        }
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return e.getMessage() + (root != e ? " (" + root.getMessage() + ")" : "");
    }
}
