package io.kvstream.cluster;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import io.kvstream.config.Settings;
import io.kvstream.storage.SchemaMigrations;
import io.kvstream.storage.SchemaNotCurrentException;
import io.kvstream.testing.StoredContent;
import io.kvstream.testing.TestDeployment;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TxnHttp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Kubernetes' split of privileges, on the real PostgreSQL: the schema's owner migrates (the {@code migrate} role), and
 * a process that does not migrate connects as a role that may only read and write rows, yet does everything kvstream
 * does at runtime. A process that does not migrate, on a schema that is behind, says what to run.
 */
class LeastPrivilegeTest {
    private static final String PASSWORD = "app-password";
    private static final String INSUFFICIENT_PRIVILEGE = "42501";
    private final HttpClient http = HttpClient.newHttpClient();
    private final TestDeployment deployment = TestDeployment.fresh("least");
    /** Roles belong to the whole server, not to the test's schema: dropped after each test. */
    private final String appRole = "t_app_" + java.util.UUID.randomUUID().toString().substring(0, 8);

    @BeforeEach
    void createAppRole() throws SQLException {
        asOwner("CREATE ROLE \"" + appRole + "\" LOGIN PASSWORD '" + PASSWORD + "'");
    }

    @AfterEach
    void dropAppRole() throws SQLException {
        asOwner("DROP OWNED BY \"" + appRole + "\"");
        asOwner("DROP ROLE \"" + appRole + "\"");
    }

    @Test
    void dmlOnlyRoleServesWritesTransactionsExpiryAndCompactionButCannotChangeTheSchema() throws Exception {
        String migrated = SchemaMigrations.migrateAsOwner(owner().withMigrations(migrations(true)));
        assertThat(migrated, containsString("DML granted to " + appRole));
        // Compaction after every relayed revision beyond the first 3, so that it runs (deletes) within the test.
        Settings settings = asApp(deployment.settings(Settings.Role.ALL)).toBuilder()
                .events(new Settings.Events(3, 1))
                .build();

        try (TestNode node = TestNode.start(settings)) {
            assertThat(send(node, "PUT", "/values/a", "1").statusCode(), is(200));
            assertThat(send(node, "GET", "/values/a", "").body(), is("{\"key\":\"a\",\"value\":\"1\"}"));
            assertThat(send(node, "DELETE", "/values/a", "").statusCode(), is(200));
            assertThat(send(node, "GET", "/values/a", "").statusCode(), is(404));
            assertThat(TxnHttp.txn(node.port(), "{\"compare\":[{\"key\":\"b\",\"revision\":0}],\"success\":["
                                                + TxnHttp.put("b", "2") + "," + TxnHttp.put("c", "3") + "]}")
                               .get("succeeded").asBoolean(), is(true));
            HttpResponse<String> first = send(node, "PUT", "/values/once", "x", "Idempotency-Key", "\"k-1\"");
            HttpResponse<String> again = send(node, "PUT", "/values/once", "x", "Idempotency-Key", "\"k-1\"");
            assertThat(first.statusCode(), is(200));
            assertThat(again.statusCode(), is(200));
            assertThat(again.body(), is(first.body()));
            assertThat(send(node, "PUT", "/values/short?ttl=1", "gone soon").statusCode(), is(200));

            await().atMost(Duration.ofSeconds(30))
                    .until(() -> send(node, "GET", "/values/short", "").statusCode() == 404
                                 && !StoredContent.read(owner()).values().containsKey("short"));
            await().atMost(Duration.ofSeconds(30)).until(() -> compactedRevision() > 0);
            assertThat(node.contents().keySet(), is(java.util.Set.of("b", "c", "once")));
        }

        String schema = "\"" + deployment.schema() + "\"";
        assertRefused("CREATE TABLE " + schema + ".intruder (i int)");
        assertRefused("ALTER TABLE " + schema + ".kv_values ADD COLUMN intruder int");
        assertRefused("DROP TABLE " + schema + ".kv_events");
        assertRefused("TRUNCATE " + schema + ".kv_values");
        assertRefused("DELETE FROM " + schema + ".flyway_schema_history");
    }

    @Test
    void processThatDoesNotMigrateOnAnUnmigratedSchemaFailsNamingTheMigrationAndRunsNoDdl() {
        Settings all = deployment.settings(Settings.Role.ALL);
        Settings settings = all.toBuilder()
                .db(all.db().withMigrations(new Settings.Migrations(false, "", Duration.ofSeconds(1))))
                .build();

        SchemaNotCurrentException failure = assertThrows(SchemaNotCurrentException.class,
                                                         () -> TestNode.start(settings).close());

        assertThat(failure.getMessage(), containsString("\"" + deployment.schema() + "\" is not migrated"));
        assertThat(failure.getMessage(), containsString("KVSTREAM_ROLE=migrate"));
        assertThat(failure.getMessage(), containsString("kvstream-migrate Job"));
        assertThat("schema created", schemaExists(), is(false));
    }

    @Test
    void processThatDoesNotMigrateWaitsForTheMigrationAndThenServes() throws Exception {
        Settings settings = asApp(deployment.settings(Settings.Role.ALL));
        CompletableFuture<TestNode> starting = CompletableFuture.supplyAsync(() -> TestNode.start(settings));
        await().atMost(Duration.ofSeconds(30)).until(this::appRoleConnected);
        assertThat("started before the migration", starting.isDone(), is(false));

        SchemaMigrations.migrateAsOwner(owner().withMigrations(migrations(true)));

        try (TestNode node = starting.get()) {
            assertThat(send(node, "PUT", "/values/after-wait", "v").statusCode(), is(200));
        }
    }

    private Settings asApp(Settings settings) {
        Settings.Db db = settings.db();
        return settings.toBuilder()
                .db(db.withUrl(db.url(), appRole, PASSWORD).withMigrations(migrations(false)))
                .build();
    }

    private Settings.Migrations migrations(boolean atStart) {
        return new Settings.Migrations(atStart, appRole, Duration.ofSeconds(60));
    }

    private Settings.Db owner() {
        return deployment.settings(Settings.Role.ALL).db();
    }

    private HttpResponse<String> send(TestNode node, String method, String path, String body, String... headers)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port() + path))
                .method(method, body.isEmpty() ? HttpRequest.BodyPublishers.noBody()
                                               : HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            request.headers(headers);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private void assertRefused(String sql) {
        Settings.Db db = owner();
        SQLException refused = assertThrows(SQLException.class, () -> {
            try (Connection c = DriverManager.getConnection(db.url(), appRole, PASSWORD);
                 Statement s = c.createStatement()) {
                s.execute(sql);
            }
        });
        assertThat(sql + ": " + refused.getMessage(), refused.getSQLState(), is(INSUFFICIENT_PRIVILEGE));
    }

    private long compactedRevision() throws SQLException {
        return queryLong("SELECT compacted_revision FROM \"" + deployment.schema() + "\".kv_relay");
    }

    private boolean schemaExists() {
        try {
            return queryLong("SELECT count(*) FROM pg_namespace WHERE nspname = '" + deployment.schema() + "'") > 0;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** True once the process is connected as the app role: it is waiting for the schema. */
    private boolean appRoleConnected() throws SQLException {
        return queryLong("SELECT count(*) FROM pg_stat_activity WHERE usename = '" + appRole + "'") > 0;
    }

    private long queryLong(String sql) throws SQLException {
        Settings.Db db = owner();
        try (Connection c = DriverManager.getConnection(db.url(), db.username(), db.password());
             Statement s = c.createStatement();
             var rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private void asOwner(String sql) throws SQLException {
        Settings.Db db = owner();
        try (Connection c = DriverManager.getConnection(db.url(), db.username(), db.password());
             Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }
}
