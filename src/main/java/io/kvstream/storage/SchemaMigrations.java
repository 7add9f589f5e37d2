package io.kvstream.storage;

import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.regex.Pattern;

import javax.sql.DataSource;

import io.kvstream.config.Settings;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationInfoService;
import org.flywaydb.core.api.configuration.FluentConfiguration;

/**
 * kvstream's schema, as the Flyway migrations under {@code db/migration} define it: brought up to date by its owner
 * (each process at start in the all-in-one default, a {@code migrate} run in Kubernetes), or awaited by a process that
 * may only read and write rows. After every migration run, {@code afterMigrate__grant_app_role.sql} grants the
 * configured app role its DML privileges, on tables added by that run too.
 */
public final class SchemaMigrations {
    private static final System.Logger LOG = System.getLogger(SchemaMigrations.class.getName());
    /** Between two looks at a schema that is not current yet. */
    private static final Duration RECHECK = Duration.ofSeconds(1);
    /** The role name goes into the grants' SQL as a literal: no quote may end it. */
    private static final Pattern ROLE_NAME = Pattern.compile("[^'\\\\\\s]*");
    /** A migrate run waits for the database this many times (Flyway's back-off, up to a minute between tries). */
    private static final int CONNECT_RETRIES = 10;

    private SchemaMigrations() {
    }

    /**
     * The {@code migrate} role: brings the schema up to date, waiting for the database to come up (a Job may start
     * before its server); returns what it did.
     */
    public static String migrateAsOwner(Settings.Db db) {
        Flyway flyway = ownConnections(db).connectRetries(CONNECT_RETRIES).load();
        int applied = flyway.migrate().migrationsExecuted;
        return "schema \"" + db.schema() + "\" at version " + flyway.info().current().getVersion() + " (" + applied
               + " migrations applied"
               + (db.migrations().appRole().isBlank() ? "" : ", DML granted to " + db.migrations().appRole()) + ")";
    }

    /** Brings the schema up to date as a process starts (the all-in-one default). */
    static void migrate(Settings.Db db) {
        try {
            ownConnections(db).load().migrate();
        } catch (RuntimeException e) {
            throw new IllegalStateException("Cannot prepare the database schema: " + Database.rootMessage(e), e);
        }
    }

    /**
     * Connections of Flyway's own, not the pool's: a migration's DDL (an index built over a large table) may take
     * longer than the pool's {@code socket-timeout} allows a read.
     */
    private static FluentConfiguration ownConnections(Settings.Db db) {
        return configure(db).dataSource(db.url(), db.username().isBlank() ? null : db.username(),
                                        db.password().isBlank() ? null : db.password());
    }

    /**
     * Returns once the schema has every migration this build knows, checking again each second for up to
     * {@code kvstream.db.migration-wait}; then fails, naming what is missing and what brings it. Runs no DDL.
     */
    static void awaitCurrent(DataSource dataSource, Settings.Db db) {
        Flyway flyway = configure(db).dataSource(dataSource).load();
        Instant deadline = Instant.now().plus(db.migrations().await());
        String behind = behind(flyway, db.schema());
        if (behind.isEmpty()) {
            return;
        }
        LOG.log(System.Logger.Level.WARNING, "Waiting for the database schema to be migrated: " + behind);
        while (Instant.now().isBefore(deadline)) {
            try {
                Thread.sleep(RECHECK);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            behind = behind(flyway, db.schema());
            if (behind.isEmpty()) {
                LOG.log(System.Logger.Level.INFO, "The database schema is current");
                return;
            }
        }
        throw new SchemaNotCurrentException(behind + " after waiting " + db.migrations().await() + " (kvstream.db."
                                            + "migration-wait). This process does not migrate (kvstream.db.migrate="
                                            + "false): run the migrations as the schema's owner first — the "
                                            + "kvstream-migrate Job in Kubernetes, or this image with "
                                            + "KVSTREAM_ROLE=migrate");
    }

    /** Empty when the schema is current, otherwise what is missing. */
    private static String behind(Flyway flyway, String schema) {
        MigrationInfoService info;
        try {
            info = flyway.info();
        } catch (RuntimeException e) {
            return "the database cannot be read (" + Database.rootMessage(e) + ")";
        }
        MigrationInfo[] pending = info.pending();
        if (pending.length == 0) {
            return "";
        }
        MigrationInfo current = info.current();
        return "the schema \"" + schema + "\" is "
               + (current == null ? "not migrated" : "at version " + current.getVersion())
               + " and this kvstream needs "
               + Arrays.stream(pending).map(m -> m.getVersion() + " (" + m.getDescription() + ")").toList();
    }

    private static FluentConfiguration configure(Settings.Db db) {
        String appRole = db.migrations().appRole();
        if (!ROLE_NAME.matcher(appRole).matches()) {
            throw new IllegalArgumentException("kvstream.db.app-role may not contain quotes, backslashes or spaces: "
                                               + appRole);
        }
        return Flyway.configure()
                .schemas(db.schema())
                .createSchemas(true)
                .locations("classpath:db/migration")
                .placeholders(Map.of("appRole", appRole));
    }
}
