package io.kvstream.role;

import io.kvstream.config.Settings;
import io.kvstream.storage.SchemaMigrations;

/**
 * The migrate role ({@code kvstream.role=migrate}): brings the database schema up to date as the schema's owner and
 * grants the app role its row privileges, then the process exits (0, or 1 with the reason). Kubernetes runs it as a
 * Job, so the pods, which connect as a role that may only read and write rows, never run DDL.
 * <pre>
 * KVSTREAM_ROLE=migrate KVSTREAM_DB_URL=jdbc:postgresql://db/kvstream KVSTREAM_DB_USERNAME=owner \
 *   KVSTREAM_DB_PASSWORD=… KVSTREAM_DB_APP_ROLE=kvstream_app java -jar kvstream.jar
 * </pre>
 */
public final class MigrateRole {
    private MigrateRole() {
    }

    /** Migrates and says what it did; throws what went wrong. */
    public static String run(Settings settings) {
        if (!settings.db().configured()) {
            throw new IllegalArgumentException("the migrate role needs kvstream.db.url (KVSTREAM_DB_URL)");
        }
        return SchemaMigrations.migrateAsOwner(settings.db());
    }
}
