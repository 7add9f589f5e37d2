package io.kvstream.cluster;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.kvstream.config.Settings;
import io.kvstream.testing.LoadClient;
import io.kvstream.testing.SseClient;
import io.kvstream.testing.TestDeployment;
import io.kvstream.testing.TestNode;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.Tools;
import io.kvstream.ws.KvHttp;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

/**
 * The backup and restore that README's "Running in production" describes, with PostgreSQL's own tools: a
 * {@code pg_dump} of kvstream's schema taken while writes are answered, the schema restored from it with every
 * kvstream process stopped, and the processes started again. They serve the state of the dump, at its revision; a
 * stream client that resumes from a later revision is told to resync; new writes carry on from the dump's revision.
 */
class BackupRestoreTest {
    private static final Duration GENEROUS = Duration.ofSeconds(60);
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private final TestDeployment deployment = TestDeployment.fresh("backup");
    private final Settings.Db db = deployment.settings(Settings.Role.ALL).db();
    @TempDir
    Path tmp;
    private Path dump;

    @BeforeEach
    void requireTheTools() {
        Tools.require(TestServices.realServers() && onPath("pg_dump") && onPath("pg_restore"),
                      "the machine's PostgreSQL with pg_dump and pg_restore; CI sets KVSTREAM_TEST_*");
        dump = tmp.resolve("kvstream.dump");
    }

    @Test
    void aRestoredDumpIsServedAtItsRevisionAndStreamsResumingLaterAreToldToResync() throws Exception {
        long dumped;
        long later;
        try (TestNode node = deployment.start(Settings.Role.ALL)) {
            KvHttp.put(node.port(), "kept", "as dumped");
            dumped = KvHttp.put(node.port(), "changed", "before");
            dump();
            KvHttp.put(node.port(), "changed", "after");
            KvHttp.put(node.port(), "added", "after");
            later = KvHttp.delete(node.port(), "kept");
        }

        restore();

        try (TestNode node = deployment.start(Settings.Role.ALL)) {
            assertThat(node.revision(), is(dumped));
            assertThat(node.value("kept").orElseThrow().value(), is("as dumped"));
            assertThat(node.value("changed").orElseThrow().value(), is("before"));
            assertThat(node.value("added").isPresent(), is(false));
            try (SseClient resuming = SseClient.connect(node.port(), "since=" + later)) {
                resuming.ended.get(GENEROUS.toSeconds(), TimeUnit.SECONDS);
                assertThat(resuming.ofType("resync_required").size(), is(1));
            }
            long next = KvHttp.put(node.port(), "added", "after the restore");
            assertThat(next, is(dumped + 1));
            await().atMost(GENEROUS).until(() -> node.value("added").isPresent());
        }
    }

    /**
     * A process left running through the restore (against README's advice) finds the database's history ending before
     * its own revision at its next catch-up: it reloads the restored state and tells its stream clients to resync, and
     * writes carry on from the dump's revision.
     */
    @Test
    void aProcessLeftRunningThroughARestoreReloadsAndTellsItsStreamsToResync() throws Exception {
        try (TestNode node = deployment.start(Settings.Role.ALL); LoadClient load = new LoadClient()) {
            KvHttp.put(node.port(), "kept", "as dumped");
            long dumped = KvHttp.put(node.port(), "changed", "before");
            dump();
            KvHttp.put(node.port(), "changed", "after");
            KvHttp.delete(node.port(), "kept");
            double reloadsBefore = reloads(node);
            try (SseClient live = SseClient.connectLive(node.port(), "")) {
                restore();

                await().atMost(GENEROUS).until(() -> node.revision() == dumped);
                assertThat(reloads(node), is(reloadsBefore + 1));
                assertThat(node.value("kept").orElseThrow().value(), is("as dumped"));
                assertThat(node.value("changed").orElseThrow().value(), is("before"));
                live.ended.get(GENEROUS.toSeconds(), TimeUnit.SECONDS);
                assertThat(live.ofType("resync_required").size(), is(1));
            }
            LoadClient.Attempts added = load.createOnce(node.uri("/"), "added", "after the restore", GENEROUS);
            assertThat(added.body(), added.status(), is(200));
            assertThat(node.value("added").orElseThrow().modRevision(), is(dumped + 1));
        }
    }

    /** The counter {@code kvstream.events.reloads} on {@code /observe/metrics} (one registry per JVM). */
    private static double reloads(TestNode node) throws Exception {
        HttpResponse<String> metrics = HTTP.send(HttpRequest.newBuilder(node.uri("/observe/metrics"))
                                                         .header("Accept", "text/plain").build(),
                                                 HttpResponse.BodyHandlers.ofString());
        Matcher counter = Pattern.compile("(?m)^kvstream_events_reloads_total(?:\\{[^}]*})? ([0-9.]+)$")
                .matcher(metrics.body());
        assertThat(metrics.body(), counter.find(), is(true));
        return Double.parseDouble(counter.group(1));
    }

    /** README's backup: the schema, with PostgreSQL's own tool. */
    private void dump() throws IOException, InterruptedException {
        run("pg_dump", "--format=custom", "--schema=" + db.schema(), "--file=" + dump, libpqUri(db));
    }

    /** README's restore: the schema dropped, then the dump restored in one transaction. */
    private void restore() throws Exception {
        try (Connection connection = TestServices.connect(db); Statement statement = connection.createStatement()) {
            statement.execute("DROP SCHEMA \"" + db.schema() + "\" CASCADE");
        }
        run("pg_restore", "--single-transaction", "--dbname=" + libpqUri(db), dump.toString());
    }

    /** The JDBC URL as libpq takes it ({@code postgresql://user@host:port/db}). */
    private static String libpqUri(Settings.Db db) {
        String rest = db.url().substring("jdbc:postgresql://".length());
        return "postgresql://" + db.username() + "@" + rest;
    }

    private void run(String... command) throws IOException, InterruptedException {
        Path log = Files.createTempFile(tmp, command[0], ".log");
        List<String> line = new ArrayList<>(List.of(command));
        Process process = new ProcessBuilder(line).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertThat(String.join(" ", line) + ": " + Files.readString(log), process.waitFor(), is(0));
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }
}
