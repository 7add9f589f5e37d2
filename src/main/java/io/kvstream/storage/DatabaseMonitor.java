package io.kvstream.storage;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Pings the database once a second so that writes and readiness know at once whether it is up,
 * without a round trip per request.
 */
public final class DatabaseMonitor implements BooleanSupplier, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DatabaseMonitor.class.getName());
    private static final Duration INTERVAL = Duration.ofSeconds(1);

    private final Database database;
    private final Thread loop;
    private volatile boolean up;
    private volatile boolean running = true;

    public DatabaseMonitor(Database database) {
        this.database = database;
        this.up = database.reachable();
        this.loop = Thread.ofVirtual().name("database-monitor").start(this::run);
    }

    private void run() {
        while (running) {
            try {
                Thread.sleep(INTERVAL);
            } catch (InterruptedException e) {
                return;
            }
            boolean now = database.reachable();
            if (now != up) {
                LOG.log(now ? Level.INFO : Level.WARNING, now ? "Database is reachable again" : "Database is unreachable");
            }
            up = now;
        }
    }

    @Override
    public boolean getAsBoolean() {
        return up;
    }

    @Override
    public void close() {
        running = false;
        loop.interrupt();
    }
}
