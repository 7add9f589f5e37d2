package io.kvstream.standalone;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.kvstream.testing.WsClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

/**
 * README's first command, for real: {@code java -jar target/kvstream.jar} with nothing configured starts the
 * whole service on embedded PostgreSQL and AMQP, even on a machine that has the real servers; SIGTERM stops
 * it cleanly and a restart on the same data directory finds every acknowledged value.
 */
class StandaloneJarIT {
    private static final Path JAR = Path.of("target", "kvstream.jar");
    private final HttpClient http = HttpClient.newHttpClient();

    @TempDir
    Path workDir;

    @Test
    void embeddedDefaultServesApiAndEventsAndKeepsDataAcrossRestart() throws Exception {
        int port = freePort();
        Process first = start(port);
        try {
            awaitReady(first, port);
            WsClient ws = WsClient.connectLive(WsClient.events(port, ""));

            assertThat(send(port, "PUT", "/values/standalone", "kept").statusCode(), is(200));
            assertThat(send(port, "PUT", "/values/gone", "x").statusCode(), is(200));
            assertThat(send(port, "DELETE", "/values/gone", null).body(), is("{\"key\":\"gone\",\"message\":\"1\",\"revision\":3}"));
            assertThat(send(port, "GET", "/values/standalone", null).body(), is("{\"key\":\"standalone\",\"value\":\"kept\"}"));
            await().until(() -> ws.ofType("domain_event").size() == 3);
            assertThat(ws.ofType("domain_event"), hasItem(containsString("\"event\":{\"event\":\"value_put\",\"key\":\"standalone\",\"value\":\"kept\",\"revision\":1")));
            ws.abort();
        } finally {
            stop(first);
        }
        assertThat(first.exitValue(), is(143));
        assertThat(output(first), containsString("kvstream stopped"));

        Process second = start(port);
        try {
            awaitReady(second, port);
            assertThat(send(port, "GET", "/values/standalone", null).body(), is("{\"key\":\"standalone\",\"value\":\"kept\"}"));
            assertThat(send(port, "GET", "/values/gone", null).statusCode(), is(404));
            assertThat(send(port, "PUT", "/values/after-restart", "v").body(),
                       is("{\"key\":\"after-restart\",\"value\":\"v\",\"message\":\"OK\",\"revision\":4}"));
            staticFilesComeFromTheJar(port);
        } finally {
            stop(second);
        }
    }

    @Test
    void portInUseFailsWithAClearMessage() throws Exception {
        try (ServerSocket taken = new ServerSocket(0)) {
            Process process = start(taken.getLocalPort());
            assertThat(process.waitFor(60, TimeUnit.SECONDS), is(true));
            assertThat(process.exitValue(), is(1));
            String output = output(process);
            assertThat(output, containsString("kvstream cannot start: port " + taken.getLocalPort() + " is already in use"));
            assertThat(output, not(containsString("\tat ")));
        }
    }

    @Test
    void prodModeRefusesToEmbed() throws Exception {
        // Port 0: the process stops before it listens, and a free port picked here could be taken meanwhile.
        Process process = start(0, "KVSTREAM_MODE", "prod");
        assertThat(process.waitFor(60, TimeUnit.SECONDS), is(true));
        assertThat(process.exitValue(), is(1));
        assertThat(output(process), containsString("prod mode needs kvstream.db.url"));
    }

    private Process start(int port, String... env) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                                    "-jar", JAR.toAbsolutePath().toString())
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(workDir.resolve("out-" + System.nanoTime() + ".log").toFile());
        // Nothing configured: the process must take the embedded path even where CI has real servers.
        builder.environment().keySet().removeIf(name -> name.startsWith("KVSTREAM_") || name.startsWith("SERVER_"));
        builder.environment().put("SERVER_PORT", Integer.toString(port));
        for (int i = 0; i < env.length; i += 2) {
            builder.environment().put(env[i], env[i + 1]);
        }
        Process process = builder.start();
        logs.put(process, builder.redirectOutput().file().toPath());
        return process;
    }

    private final java.util.Map<Process, Path> logs = new java.util.concurrent.ConcurrentHashMap<>();

    private String output(Process process) throws IOException {
        return Files.readString(logs.get(process), StandardCharsets.UTF_8);
    }

    private void awaitReady(Process process, int port) throws IOException {
        await().atMost(Duration.ofSeconds(120)).until(() -> {
            if (!process.isAlive()) {
                throw new AssertionError("kvstream exited: " + output(process));
            }
            return output(process).contains("kvstream all ready");
        });
        assertThat(output(process), containsString("http://localhost:" + port + "/"));
    }

    private static void stop(Process process) throws InterruptedException {
        process.destroy(); // SIGTERM
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("kvstream did not stop within 60 s of SIGTERM");
        }
    }

    private HttpResponse<String> send(int port, String method, String path, String body) throws Exception {
        HttpRequest.BodyPublisher publisher = body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body);
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                                 .method(method, publisher).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** In the jar the files are jar: resources: served from memory, revalidated, and nothing outside web/. */
    private void staticFilesComeFromTheJar(int port) throws Exception {
        HttpResponse<String> script = send(port, "GET", "/static/landing.js", null);
        assertThat(script.statusCode(), is(200));
        assertThat(script.headers().firstValue("Content-Type").orElseThrow(), startsWith("text/javascript"));
        assertThat(script.body(), containsString("/events?since="));
        String etag = script.headers().firstValue("ETag").orElseThrow();
        HttpResponse<String> again = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                                                                                  + "/static/landing.js"))
                                                       .header("If-None-Match", etag).build(),
                                               HttpResponse.BodyHandlers.ofString());
        assertThat(again.statusCode(), is(304));
        for (String path : List.of("/static/../application.yaml", "/static/..%2Fapplication.yaml",
                                   "/static/templates/index.mustache", "/static/")) {
            assertThat(path, send(port, "GET", path, null).statusCode(), is(404));
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
