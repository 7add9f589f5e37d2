package io.kvstream.cluster;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.ConnectionFactory;
import io.kvstream.config.Settings;
import io.kvstream.testing.LoadClient;
import io.kvstream.testing.SseClient;
import io.kvstream.testing.StoredEvents;
import io.kvstream.testing.TestServices;
import io.kvstream.testing.TcpProxy;
import io.kvstream.testing.Tools;
import io.kvstream.testing.WsClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.oneOf;
import static org.hamcrest.Matchers.startsWith;

/**
 * The Kubernetes topology as processes, through a real load balancer: {@code scripts/local-cluster.sh up} starts
 * 3 API processes, a worker, a WebSocket process and nginx as the Ingress on the machine's PostgreSQL and
 * RabbitMQ (own schema, prefix and ports), and this test talks to it through nginx as a browser would.
 * A rolling restart of one API process during a write loop must drop no acknowledged write; a database outage
 * answers kvstream's own 503 through nginx; an API process killed under writes doubles and misreports none of them.
 * The processes reach PostgreSQL through a {@link TcpProxy} of this test, so that the database can go away for them
 * alone while it keeps serving every other test on the machine.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LocalClusterIT {
    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Path SCRIPT = ROOT.resolve("scripts/local-cluster.sh");
    private static final String ID = UUID.randomUUID().toString().substring(0, 8);
    private static final String SCHEMA = "lc_it_" + ID;
    private static final String PREFIX = "lc-it-" + ID;
    private static final Path RUN_DIR = ROOT.resolve("target/local-cluster-it-" + ID);
    private static final String DB_URL = env("LC_DB_URL", "jdbc:postgresql://127.0.0.1:5432/test");
    private static final String DB_USER = env("LC_DB_USERNAME", "postgres");
    private static final String DB_PASSWORD = env("LC_DB_PASSWORD", "");
    private static final String AMQP_URI = env("LC_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/%2f");
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(3))
            .build();

    private static int ingress;
    private static List<Integer> apis;
    private static int workerPort;
    private static int websocketPort;
    private static boolean started;
    private static TcpProxy dbProxy;
    private static String clusterDbUrl;

    @BeforeAll
    static void up() throws Exception {
        List<Integer> ports = freePorts(6);
        ingress = ports.get(0);
        apis = ports.subList(1, 4);
        workerPort = ports.get(4);
        websocketPort = ports.get(5);
        Files.createDirectories(RUN_DIR);
        dbProxy = TcpProxy.toDatabase(DB_URL);
        clusterDbUrl = dbProxy.jdbcUrl(DB_URL);
        ScriptResult result = script(Duration.ofSeconds(180), "up");
        started = true;
        boolean noNginx = result.exitCode() != 0 && result.output().contains("nginx")
                          && (result.output().contains("cannot install") || result.output().contains("not installed"));
        Tools.require(!noNginx, "nginx (apt-get install -y nginx-light): " + result.output());
        assertThat("local-cluster.sh up failed:\n" + result.output(), result.exitCode(), is(0));
    }

    @AfterAll
    static void down() throws Exception {
        if (!started) {
            dbProxy.close();
            return;
        }
        ScriptResult result = script(Duration.ofSeconds(180), "down", "--purge");
        dbProxy.close();
        System.out.println(result.output());
        // The AOT caches the run recorded (tens of MB each) go; the logs stay for a look after a failure.
        try (Stream<Path> caches = Files.walk(RUN_DIR.resolve("aot"))) {
            caches.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (NoSuchFileException e) {
            // None was recorded (a JDK before 25).
        }
        // The script drops the schema and the command queue; the exchanges go here.
        ConnectionFactory factory = new ConnectionFactory();
        factory.setUri(AMQP_URI);
        try (com.rabbitmq.client.Connection connection = factory.newConnection("local-cluster-it-cleanup");
             com.rabbitmq.client.Channel channel = connection.createChannel()) {
            channel.exchangeDelete(PREFIX + ".events");
            channel.exchangeDelete(PREFIX + ".event-batches");
            channel.exchangeDelete(PREFIX + ".presence");
            channel.queueDelete(PREFIX + ".commands");
        } catch (IOException | RuntimeException e) {
            System.out.println("broker cleanup: " + e);
        }
        try (Connection db = DriverManager.getConnection(DB_URL, DB_USER, DB_PASSWORD)) {
            db.createStatement().execute("DROP SCHEMA IF EXISTS \"" + SCHEMA + "\" CASCADE");
        }
        assertThat("local-cluster.sh down failed:\n" + result.output(), result.exitCode(), is(0));
    }

    @Test
    @Order(1)
    void writesThroughTheIngressAreReadOnEveryReplica() throws Exception {
        Map<String, Long> revisions = new HashMap<>();
        // Six writes: the round robin spreads them over the three API processes.
        for (int i = 0; i < 6; i++) {
            String key = "spread-" + i;
            HttpResponse<String> put = send(ingress, "PUT", "/values/" + key, "value " + i);
            assertThat(put.body(), put.statusCode(), is(200));
            long revision = JSON.readTree(put.body()).get("revision").asLong();
            assertThat(put.headers().firstValue("ETag"), is(Optional.of("\"" + revision + "\"")));
            revisions.put(key, revision);
            // Read-your-writes behind the balancer holds only on the answering process, so no GET here yet.
        }
        for (int port : apis) {
            for (Map.Entry<String, Long> written : revisions.entrySet()) {
                String key = written.getKey();
                await().atMost(Duration.ofSeconds(10)).until(() -> send(port, "GET", "/values/" + key, null).statusCode() == 200);
                HttpResponse<String> get = send(port, "GET", "/values/" + key, null);
                assertThat(get.body(), is("{\"key\":\"" + key + "\",\"value\":\"value " + key.substring(7) + "\"}"));
                assertThat(get.headers().firstValue("ETag"), is(Optional.of("\"" + written.getValue() + "\"")));
            }
        }
        // A write straight to one process is read through the Ingress (any process) once applied everywhere.
        HttpResponse<String> direct = send(apis.get(2), "PUT", "/values/direct", "via api-3");
        assertThat(direct.statusCode(), is(200));
        assertThat(send(apis.get(2), "GET", "/values/direct", null).body(), is("{\"key\":\"direct\",\"value\":\"via api-3\"}"));
        for (int i = 0; i < 3; i++) {
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> send(ingress, "GET", "/values/direct", null).statusCode() == 200);
        }
        HttpResponse<String> list = send(ingress, "GET", "/values?prefix=spread-", null);
        assertThat(list.statusCode(), is(200));
        assertThat(JSON.readTree(list.body()).get("values").size(), is(6));
        // Only the Ingress's paths are exposed.
        assertThat(send(ingress, "GET", "/observe/health", null).statusCode(), is(404));
    }

    @Test
    @Order(2)
    void landingPageAndEventStreamWorkThroughTheIngress() throws Exception {
        HttpResponse<String> page = send(ingress, "GET", "/", null);
        assertThat(page.statusCode(), is(200));
        assertThat(page.headers().firstValue("Content-Type").orElse(""), startsWith("text/html"));
        assertThat(page.body(), containsString("/events"));

        WsClient ws = WsClient.connect(WsClient.events(ingress, ""));
        List<String> messages = ws.messages;
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> !ws.openedIds().isEmpty());
            HttpResponse<String> put = send(ingress, "PUT", "/values/streamed", "over nginx");
            assertThat(put.statusCode(), is(200));
            long revision = JSON.readTree(put.body()).get("revision").asLong();
            String expected = "\"event\":{\"event\":\"value_put\",\"key\":\"streamed\",\"value\":\"over nginx\",\"revision\":"
                              + revision;
            await().atMost(Duration.ofSeconds(10)).until(() -> messages.stream().anyMatch(m -> m.contains(expected)));
            assertThat(messages.stream().filter(m -> m.contains(expected)).findFirst().orElseThrow(),
                       containsString("\"type\":\"domain_event\""));
        } finally {
            ws.abort();
        }
    }

    /**
     * Server-Sent Events through nginx: the stream stays open and a live event arrives at once (the server's
     * {@code X-Accel-Buffering: no} turns nginx's response buffering off for it); {@code Last-Event-ID} and the
     * filter work as on a direct connection.
     */
    @Test
    @Order(3)
    void serverSentEventsStreamThroughTheIngressUnbuffered() throws Exception {
        HttpResponse<String> before = send(ingress, "PUT", "/values/nginx-sse:0", "replayed");
        long replayed = JSON.readTree(before.body()).get("revision").asLong();
        try (SseClient sse = SseClient.connect(ingress, "prefix=nginx-sse:",
                                               Map.of("Last-Event-ID", String.valueOf(replayed - 1)))) {
            assertThat(sse.response().statusCode(), is(200));
            assertThat(sse.response().headers().firstValue("Content-Type").orElse(""), is("text/event-stream"));
            await().atMost(Duration.ofSeconds(10)).until(() -> sse.revisions().contains(replayed)
                                                               && !sse.openedIds().isEmpty());
            send(ingress, "PUT", "/values/other", "filtered out");
            HttpResponse<String> put = send(ingress, "PUT", "/values/nginx-sse:1", "live");
            long live = JSON.readTree(put.body()).get("revision").asLong();

            // One small event, well under any proxy buffer, on a stream that does not end.
            await().atMost(Duration.ofSeconds(5)).until(() -> sse.revisions().contains(live));
            assertThat(sse.revisions(), contains(replayed, live));
            assertThat(sse.lines.get(sse.lines.indexOf("id: " + live) + 1), is("event: domain_event"));
            assertThat(sse.keys(), contains("nginx-sse:0", "nginx-sse:1"));
            assertThat(sse.ended.isDone(), is(false));
        }
    }

    @Test
    @Order(4)
    void rollingRestartOfOneApiProcessDropsNoAcknowledgedWrite() throws Exception {
        AtomicBoolean running = new AtomicBoolean(true);
        Map<String, Ack> acknowledged = new ConcurrentHashMap<>();
        List<String> putFailures = new CopyOnWriteArrayList<>();
        List<String> forbiddenPutFailures = new CopyOnWriteArrayList<>();
        List<String> getFailures = new CopyOnWriteArrayList<>();
        AtomicLong gets = new AtomicLong();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        List<Thread> loops = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
            int writer = w;
            loops.add(Thread.ofVirtual().name("writer-" + w).start(() -> {
                for (int n = 0; running.get() && System.nanoTime() < deadline; n++) {
                    String key = "roll-" + writer + "-" + n;
                    String value = "v" + n + "-" + writer;
                    try {
                        HttpResponse<String> put = send(ingress, "PUT", "/values/" + key, value);
                        if (put.statusCode() == 200) {
                            acknowledged.put(key, new Ack(value, JSON.readTree(put.body()).get("revision").asLong()));
                        } else if (put.statusCode() == 502 || put.statusCode() == 503) {
                            putFailures.add(key + ": " + put.statusCode());
                        } else {
                            forbiddenPutFailures.add(key + ": " + put.statusCode() + " " + put.body());
                        }
                    } catch (IOException e) {
                        putFailures.add(key + ": " + e);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }));
        }
        for (int r = 0; r < 2; r++) {
            loops.add(Thread.ofVirtual().name("reader-" + r).start(() -> {
                while (running.get() && System.nanoTime() < deadline) {
                    try {
                        HttpResponse<String> get = send(ingress, "GET", "/values/streamed", null);
                        gets.incrementAndGet();
                        if (get.statusCode() != 200) {
                            getFailures.add("GET " + get.statusCode() + " " + get.body());
                        }
                    } catch (IOException e) {
                        getFailures.add("GET " + e);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }));
        }
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> acknowledged.size() >= 20);
            ScriptResult restart = script(Duration.ofSeconds(180), "restart-api", "1");
            assertThat("restart-api 1 failed:\n" + restart.output(), restart.exitCode(), is(0));
            if (Runtime.version().feature() >= 25) {
                // api-1, the first API process, recorded the API role's AOT cache as it stopped: it starts from it.
                assertThat(restart.output(), matchesPattern("(?s).*started api-1 \\(api\\)[^\\n]*, AOTCache=.*"));
            }
            // Keep writing for a while with the restarted process back in rotation.
            int afterRestart = acknowledged.size();
            await().atMost(Duration.ofSeconds(15)).until(() -> acknowledged.size() >= afterRestart + 60);
        } finally {
            stop(running, loops, Duration.ofSeconds(20));
        }
        System.out.printf("rolling restart: %d writes acknowledged, %d failed (allowed: 502/503/connection), %d GETs,"
                          + " %d GET failures%n", acknowledged.size(), putFailures.size(), gets.get(), getFailures.size());
        putFailures.forEach(f -> System.out.println("  PUT " + f));
        assertThat(forbiddenPutFailures, is(empty()));
        assertThat(getFailures, is(empty()));
        assertThat(acknowledged.size(), greaterThan(80));

        // Every acknowledged write is stored in PostgreSQL with its value and revision ...
        Map<String, Ack> stored = new HashMap<>();
        try (Connection db = DriverManager.getConnection(DB_URL, DB_USER, DB_PASSWORD);
             PreparedStatement query = db.prepareStatement(
                     "SELECT key, value, mod_revision FROM \"" + SCHEMA + "\".kv_values WHERE key LIKE 'roll-%'");
             ResultSet rows = query.executeQuery()) {
            while (rows.next()) {
                stored.put(rows.getString(1), new Ack(rows.getString(2), rows.getLong(3)));
            }
        }
        acknowledged.forEach((key, ack) -> assertThat(key, stored.get(key), is(ack)));
        // ... and, once the replicas have caught up, on every API process, the restarted one included.
        long maxRevision = stored.values().stream().mapToLong(Ack::revision).max().orElseThrow();
        for (int port : apis) {
            await().atMost(Duration.ofSeconds(15)).until(() -> replicaRevision(port) >= maxRevision);
            Map<String, Ack> replica = listAll(port, "roll-");
            acknowledged.forEach((key, ack) -> assertThat(port + " " + key, replica.get(key), is(ack)));
        }
    }

    /**
     * nginx must pass kvstream's own 503 and its Retry-After to the client: a 503 in proxy_next_upstream would count
     * towards max_fails=1 and, after one 503 per API process, leave the client a 502 from nginx instead.
     */
    @Test
    @Order(5)
    void databaseOutageAnswers503WithRetryAfterThroughTheIngressNot502() throws Exception {
        assertThat(Files.readString(RUN_DIR.resolve("nginx/nginx.conf")), not(containsString("http_503")));
        int unavailable = 0;
        dbProxy.stop();
        try {
            // Each API process notices within its monitor's second; a write sent before may time out (504).
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            for (int i = 0; unavailable < 4 * apis.size() && System.nanoTime() < deadline; i++) {
                HttpResponse<String> put = send(ingress, "PUT", "/values/outage-" + i, "v");
                assertThat(put.statusCode() + " " + put.body(), put.statusCode(), is(oneOf(503, 504)));
                if (put.statusCode() == 503) {
                    assertThat(put.headers().firstValue("Retry-After"), is(Optional.of("1")));
                    assertThat(JSON.readTree(put.body()).get("error").asText(), is("unavailable"));
                    unavailable++;
                }
            }
            assertThat(unavailable, is(4 * apis.size()));
            // No API process was marked down by those 503s: every one still answers through nginx.
            for (int i = 0; i < 2 * apis.size(); i++) {
                HttpResponse<String> get = send(ingress, "GET", "/values/streamed", null);
                assertThat(get.body(), get.statusCode(), is(200));
            }
        } finally {
            dbProxy.start();
        }
        for (int port : apis) {
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> send(port, "PUT", "/values/after-outage-" + port, "back").statusCode() == 200);
        }
    }

    /**
     * SIGKILL of an API process under create-only writes through nginx, each retried by its client with the same
     * Idempotency-Key after a 502, 503, 504 or a dropped connection: every acknowledged write is stored exactly
     * once, none is applied twice, and no client is told 412 about a key that holds its own value.
     */
    @Test
    @Order(6)
    void apiProcessKilledUnderWritesThroughTheIngressDoublesNoWriteAndMisreportsNone() throws Exception {
        AtomicBoolean running = new AtomicBoolean(true);
        Map<String, String> attempted = new ConcurrentHashMap<>();
        Map<String, LoadClient.Attempts> refused = new ConcurrentHashMap<>();
        AtomicLong resent = new AtomicLong();
        List<Thread> writers = new ArrayList<>();
        try (LoadClient load = new LoadClient()) {
            for (int w = 0; w < 16; w++) {
                int writer = w;
                writers.add(Thread.ofVirtual().name("creator-" + w).start(() -> {
                    for (int n = 0; running.get(); n++) {
                        String key = "kill-" + writer + "-" + n;
                        String value = "v-" + writer + "-" + n;
                        attempted.put(key, value);
                        LoadClient.Attempts attempts = load.createOnce(URI.create("http://127.0.0.1:" + ingress),
                                                                       key, value, Duration.ofSeconds(30));
                        resent.addAndGet(attempts.sent() - 1);
                        if (attempts.status() != 200) {
                            refused.put(key, attempts);
                        }
                    }
                }));
            }
            try {
                await().atMost(Duration.ofSeconds(20)).until(() -> load.acknowledged() >= 60);
                ProcessHandle api = ProcessHandle.of(Long.parseLong(Files.readString(RUN_DIR.resolve("api-2.pid")).trim()))
                        .orElseThrow();
                api.destroyForcibly();
                await().atMost(Duration.ofSeconds(10)).until(() -> !api.isAlive());
                long afterKill = load.acknowledged();
                await().atMost(Duration.ofSeconds(60)).until(() -> load.acknowledged() >= afterKill + 200);
            } finally {
                stop(running, writers, Duration.ofSeconds(40));
            }
            System.out.printf("api-2 killed: %d writes, %d acknowledged, %d resent, statuses %s%n", attempted.size(),
                              load.acknowledged(), resent.get(), load.statuses());
            ScriptResult restart = script(Duration.ofSeconds(120), "restart-api", "2");
            assertThat("restart-api 2 failed:\n" + restart.output(), restart.exitCode(), is(0));

            assertThat("writes that ended without 200", refused, is(Map.of()));
            assertThat("requests resent after the kill", resent.get(), greaterThan(0L));
            Settings.Db db = TestServices.db().withUrl(DB_URL, DB_USER, DB_PASSWORD).withSchema(SCHEMA);
            StoredEvents.assertConsistent(db, load, List.of());
            Map<String, List<String>> events = new HashMap<>();
            try (Connection c = DriverManager.getConnection(DB_URL, DB_USER, DB_PASSWORD);
                 PreparedStatement query = c.prepareStatement(
                         "SELECT key, command_id FROM \"" + SCHEMA + "\".kv_events WHERE key LIKE 'kill-%'");
                 ResultSet rows = query.executeQuery()) {
                while (rows.next()) {
                    events.computeIfAbsent(rows.getString(1), k -> new ArrayList<>()).add(rows.getString(2));
                }
            }
            attempted.keySet().forEach(key -> assertThat(key, events.getOrDefault(key, List.of()).size(),
                                                         is(lessThanOrEqualTo(1))));
            load.acknowledgedWrites().keySet().forEach(key -> {
                assertThat(key, events.get(key).size(), is(1));
                assertThat(events.get(key).getFirst(), startsWith("idem-"));
            });
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    record Ack(String value, long revision) {
    }

    /** Tells the loops to stop and waits for each (for the request in hand to finish). */
    private static void stop(AtomicBoolean running, List<Thread> loops, Duration each) throws InterruptedException {
        running.set(false);
        for (Thread loop : loops) {
            loop.join(each);
        }
    }

    record ScriptResult(int exitCode, String output) {
    }

    private static ScriptResult script(Duration timeout, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", SCRIPT.toString()));
        command.addAll(List.of(args));
        Path output = RUN_DIR.resolve("script-" + args[0] + "-" + System.nanoTime() + ".out");
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(ROOT.toFile())
                .redirectErrorStream(true)
                .redirectOutput(output.toFile());
        Map<String, String> env = builder.environment();
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("LC_RUN_DIR", RUN_DIR.toString());
        env.put("LC_INGRESS_PORT", Integer.toString(ingress));
        env.put("LC_API_PORTS", apis.stream().map(String::valueOf).reduce((a, b) -> a + " " + b).orElseThrow());
        env.put("LC_WORKER_PORT", Integer.toString(workerPort));
        // One worker: the test holds one free port for it (the script runs two by default).
        env.put("LC_WORKERS", "1");
        env.put("LC_WS_PORT", Integer.toString(websocketPort));
        env.put("LC_DB_URL", clusterDbUrl);
        env.put("LC_DB_USERNAME", DB_USER);
        env.put("LC_DB_PASSWORD", DB_PASSWORD);
        env.put("LC_DB_SCHEMA", SCHEMA);
        env.put("LC_AMQP_URI", AMQP_URI);
        env.put("LC_AMQP_PREFIX", PREFIX);
        env.put("LC_READY_TIMEOUT", "150");
        // Small heaps and C1 only: five JVMs start faster on a small machine; nginx with one worker.
        env.put("LC_JAVA_OPTS", "-Xmx384m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC");
        env.put("LC_NGINX_WORKERS", "1");
        env.put("LC_AOT_CACHE_DIR", RUN_DIR.resolve("aot").toString());
        Process process = builder.start();
        if (!process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
            process.destroyForcibly();
            return new ScriptResult(-1, "timed out after " + timeout + "\n" + Files.readString(output));
        }
        return new ScriptResult(process.exitValue(), Files.readString(output));
    }

    private static HttpResponse<String> send(int port, String method, String path, String body)
            throws IOException, InterruptedException {
        HttpRequest.BodyPublisher publisher = body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8);
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                                 .timeout(Duration.ofSeconds(15))
                                 .method(method, publisher)
                                 .build(),
                         HttpResponse.BodyHandlers.ofString());
    }

    private static long replicaRevision(int port) throws IOException, InterruptedException {
        HttpResponse<String> list = send(port, "GET", "/values?limit=1", null);
        return list.statusCode() == 200 ? JSON.readTree(list.body()).get("revision").asLong() : -1;
    }

    private static Map<String, Ack> listAll(int port, String prefix) throws IOException, InterruptedException {
        Map<String, Ack> all = new HashMap<>();
        String after = null;
        do {
            HttpResponse<String> page = send(port, "GET", "/values?limit=1000&prefix=" + prefix
                                                          + (after == null ? "" : "&after=" + after), null);
            assertThat(page.body(), page.statusCode(), is(200));
            JsonNode body = JSON.readTree(page.body());
            body.get("values").forEach(v -> all.put(v.get("key").asText(),
                                                    new Ack(v.get("value").asText(), v.get("revision").asLong())));
            after = body.hasNonNull("next") ? body.get("next").asText() : null;
        } while (after != null);
        return all;
    }

    /** Distinct free loopback ports, all held open until every one is chosen. */
    private static List<Integer> freePorts(int count) throws IOException {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            List<Integer> ports = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                ServerSocket socket = new ServerSocket(0);
                sockets.add(socket);
                ports.add(socket.getLocalPort());
            }
            return List.copyOf(ports);
        } finally {
            for (ServerSocket socket : sockets) {
                socket.close();
            }
        }
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value;
    }
}
