package io.kvstream.storage;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Pings the database so that writes and readiness know at once whether it is up, without a round trip per request:
 * once a second through the pool while it is up, and every {@link #WHILE_DOWN} while it is down, then with a
 * connection of its own (the pool waits longer and longer between its attempts while the database is away). When
 * the database answers again, the pool is told to connect at once ({@link Database#connectNow}).
 */
public final class DatabaseMonitor implements BooleanSupplier, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DatabaseMonitor.class.getName());
    private static final Duration WHILE_UP = Duration.ofSeconds(1);
    private static final Duration WHILE_DOWN = Duration.ofMillis(100);

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
                Thread.sleep(up ? WHILE_UP : WHILE_DOWN);
            } catch (InterruptedException e) {
                return;
            }
            boolean now = up ? database.reachable() : backAgain();
            if (now != up) {
                LOG.log(now ? Level.INFO : Level.WARNING, now ? "Database is reachable again" : "Database is unreachable");
            }
            up = now;
        }
    }

    /** While down: a connection of its own answers, and then the pool's (woken up) does too. */
    private boolean backAgain() {
        if (!database.reachableDirectly()) {
            return false;
        }
        database.connectNow();
        return database.reachable();
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
