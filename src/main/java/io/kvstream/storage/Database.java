package io.kvstream.storage;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Locale;
import java.util.Properties;
import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.helidon.dbclient.DbClient;
import io.helidon.dbclient.jdbc.JdbcClientBuilder;
import io.kvstream.config.Settings;

/**
 * The PostgreSQL side of a process: a HikariCP pool whose connections fail fast ({@code kvstream.db.connect-timeout},
 * {@code socket-timeout}, {@code keepalive}), the schema brought up to date or awaited ({@link SchemaMigrations}) and
 * a Helidon DbClient over the pool. With {@code kvstream.db.schema} set, everything lives in that schema (tests use
 * one per class).
 */
public final class Database implements AutoCloseable {
    private final HikariDataSource dataSource;
    private final DbClient dbClient;
    private final String schema;
    private final Duration idleSessionTimeout;

    private Database(HikariDataSource dataSource, Settings.Db settings) {
        this.dataSource = dataSource;
        this.schema = settings.schema();
        this.idleSessionTimeout = settings.connections().idleSessionTimeout();
        this.dbClient = JdbcClientBuilder.create()
                .connectionPool(new HikariConnectionPool(dataSource))
                .build();
    }

    /**
     * Opens the pool and brings the schema up to date, or, with {@code kvstream.db.migrate=false}, waits for it to
     * be current ({@link SchemaNotCurrentException} if it does not get there in time).
     */
    public static Database open(Settings.Db settings, String poolName) {
        String schema = settings.schema();
        HikariConfig config = new HikariConfig();
        config.setPoolName(poolName);
        config.setJdbcUrl(settings.url());
        config.setUsername(settings.username().isBlank() ? null : settings.username());
        config.setPassword(settings.password().isBlank() ? null : settings.password());
        config.setMaximumPoolSize(settings.poolSize());
        config.setMinimumIdle(1);
        // A borrower waits this long for a connection before it counts as an outage (503, batch requeued).
        config.setConnectionTimeout(Duration.ofSeconds(3).toMillis());
        config.setValidationTimeout(Duration.ofSeconds(2).toMillis());
        // Start even while the database is still down; requests fail fast until it is back.
        config.setInitializationFailTimeout(-1);
        // Snapshots stream in chunks instead of materialising a million rows at once.
        config.addDataSourceProperty("defaultRowFetchSize", "2000");
        Settings.Connections connections = settings.connections();
        config.addDataSourceProperty("connectTimeout", seconds(connections.connectTimeout()));
        config.addDataSourceProperty("socketTimeout", seconds(connections.socketTimeout()));
        config.addDataSourceProperty("tcpKeepAlive", "true");
        // pg_stat_activity and pg_locks name the role of each session (the relay's lead among them).
        config.addDataSourceProperty("ApplicationName", poolName);
        String keepalive = seconds(connections.keepalive());
        // Each prepared statement keeps one generic plan. Left to choose, PostgreSQL kept planning the batch's write
        // afresh for every batch (its estimate for a custom plan stayed below the generic one's), and planning was
        // then over a quarter of the worker session's CPU at low rates, where a batch holds a command or two
        // (bench/findings.md, session 13). So no statement may depend on a parameter's value for its plan: a listing
        // bounds its prefix's range itself (History). No sequential scans where an index serves: a generic plan made
        // while a table was small would otherwise keep scanning kv_commands and kv_values whole as they grew
        // (bench/findings.md, sessions 2 and 5).
        // The server probes a silent client (the client's own keepalives follow the OS's hours-long defaults), and
        // ends a session cut off inside a transaction, which could hold the revision lock every worker waits for.
        config.setConnectionInitSql("SET search_path TO \"" + schema.replace("\"", "") + "\";"
                                    + " SET plan_cache_mode = force_generic_plan;"
                                    + " SET enable_seqscan = off;"
                                    + " SET tcp_keepalives_idle = " + keepalive + ";"
                                    + " SET tcp_keepalives_interval = " + keepalive + ";"
                                    + " SET tcp_keepalives_count = 3;"
                                    + " SET idle_in_transaction_session_timeout = "
                                    + connections.idleSessionTimeout().toMillis());
        HikariDataSource dataSource = new HikariDataSource(config);
        try {
            if (settings.migrations().atStart()) {
                SchemaMigrations.migrate(settings);
            } else {
                SchemaMigrations.awaitCurrent(dataSource, settings);
            }
        } catch (RuntimeException e) {
            dataSource.close();
            throw e;
        }
        return new Database(dataSource, settings);
    }

    /** pgjdbc takes its timeouts in whole seconds; a fraction rounds up, so none becomes 0 (no timeout). */
    private static String seconds(Duration duration) {
        return String.valueOf(Math.max(1, (duration.toMillis() + 999) / 1000));
    }

    /** How long the server lets the relay's lead session stay silent before it ends it, and the lock with it. */
    Duration idleSessionTimeout() {
        return idleSessionTimeout;
    }

    DbClient dbClient() {
        return dbClient;
    }

    /** For what DbClient does not do: LISTEN/NOTIFY, session-level advisory locks, streaming snapshots. */
    DataSource dataSource() {
        return dataSource;
    }

    /**
     * The LISTEN/NOTIFY channel that tells the relay new events are committed; its name also keys the relay's
     * advisory lock, so deployments in different schemas of one database do not meet.
     */
    String notifyChannel() {
        return "kvstream_events_" + schema.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
    }

    /** A cheap round trip for health checks. */
    public boolean reachable() {
        try (Connection connection = dataSource.getConnection()) {
            return connection.isValid(2);
        } catch (SQLException | RuntimeException e) {
            return false;
        }
    }

    /** The same round trip on a connection of its own, outside the pool, that gives up after a second. */
    boolean reachableDirectly() {
        Properties properties = new Properties();
        if (dataSource.getUsername() != null) {
            properties.setProperty("user", dataSource.getUsername());
        }
        if (dataSource.getPassword() != null) {
            properties.setProperty("password", dataSource.getPassword());
        }
        properties.setProperty("connectTimeout", "1");
        properties.setProperty("loginTimeout", "1");
        properties.setProperty("socketTimeout", "2");
        try (Connection connection = DriverManager.getConnection(dataSource.getJdbcUrl(), properties)) {
            return connection.isValid(1);
        } catch (SQLException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Cuts short the pool's wait before its next attempt to connect. While the database is down, HikariCP's connection
     * adder doubles its pause after each failed attempt up to 5 s, so the pool could stay empty for seconds after the
     * database is back. Interrupted, the adder stops; the next borrower starts a new one, which connects at once. (The
     * adder is found by the thread name HikariCP gives it; if that ever changes, this does nothing and the pool
     * reconnects on its own schedule.)
     */
    void connectNow() {
        String adder = dataSource.getPoolName() + ":connection-adder";
        Thread.getAllStackTraces().keySet().stream()
                .filter(thread -> thread.getName().equals(adder))
                .forEach(Thread::interrupt);
    }

    @Override
    public void close() {
        dbClient.close();
        dataSource.close();
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage();
    }
}
