import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Open-loop write latency probe (no dependencies: {@code java bench/LatencyProbe.java ...}).
 * <p>
 * kvstream mode: sends PUTs at a fixed rate, round robin straight to the API processes, each to a new key, and
 * records per key, from its scheduled send time (so a stall counts, no coordinated omission):
 * <ul>
 * <li>ack: the 200, i.e. committed and applied on the answering API process (read-your-writes);</li>
 * <li>ws: the arrival of its domain_event on one WebSocket client (through the Ingress), poll-free;</li>
 * <li>all3: applied on all three API processes: the ack for the answering one and, for a sample of keys, the
 * first GET on each other process whose ETag shows the key's revision (GET every {@code pollMicros}).</li>
 * </ul>
 * etcd mode: puts through the JSON gateway at the same rate, ack, and the arrival on a {@code /v3/watch}
 * stream of the gateway (the etcd equivalent of the WebSocket delivery).
 * <pre>
 * java LatencyProbe.java kv   RATE SECONDS WARMUP_S ws://host:port/events http://api1 http://api2 http://api3
 * java LatencyProbe.java etcd RATE SECONDS WARMUP_S http://127.0.0.1:2379
 * </pre>
 * Prints one line per metric: {@code METRIC name count p50_ms p99_ms max_ms lost}.
 * <p>
 * Filtered watch (bench/watch.sh): the WebSocket argument may instead be {@code none} (no watcher) or a
 * comma-separated list of {@code NAME=ws://...} watchers, each reported as {@code put_delivered_NAME}; a watcher
 * whose URL has {@code ?prefix=P} is expected to see only the keys starting with P. With {@code -DmatchEvery=N
 * -DmatchPrefix=P}, every Nth key (warm-up included) starts with P, the others do not. Each watcher also prints
 * {@code RECEIVED NAME n}: the domain events it received over the whole run, warm-up included.
 * <p>
 * The PUTs, GETs and the etcd watch go through {@link Http}, a minimal HTTP/1.1 client on blocking sockets used
 * from virtual threads: {@code java.net.http.HttpClient} cost about 44% of a core at 300 PUT/s, CPU taken from
 * the servers measured on the same 2 cores. Only the WebSocket client (receiving only, a small share) still uses it.
 */
public final class LatencyProbe {
    private static final Pattern WS_EVENT = Pattern.compile("\"event\":\\{\"event\":\"value_put\",\"key\":\"([^\"]+)\"");
    private static final Pattern ETCD_KEY = Pattern.compile("\"kv\":\\{\"key\":\"([^\"]+)\"");
    /**
     * Every how many keys the probe polls the other replicas: about 20 keys a second whatever the rate, so that
     * the probe's own GETs (up to 25 per key and replica in the first 25 ms) do not load the 2 shared cores more
     * at 1000 PUT/s than at 300 (the etcd probe only watches).
     */
    private static int sampleEvery(int rate) {
        return Integer.getInteger("sampleEvery", Math.max(10, rate / 20));
    }
    private static final long POLL_NANOS = TimeUnit.MICROSECONDS.toNanos(Long.getLong("pollMicros", 1000));
    /**
     * With {@code -DslowFile=PATH}, every measured write slower than {@code -DslowMs} [20] is appended there (metric,
     * wall-clock time it was scheduled at, ms, key), to lay beside the servers' logs: when the slow ones cluster.
     */
    private static final String SLOW_FILE = System.getProperty("slowFile");
    private static final long SLOW_NANOS = TimeUnit.MILLISECONDS.toNanos(Long.getLong("slowMs", 20));
    private static final long NANO_TO_EPOCH_MS = System.currentTimeMillis() - System.nanoTime() / 1_000_000;

    private final Map<String, Long> scheduled = new ConcurrentHashMap<>();
    private final Map<String, Long> acked = new ConcurrentHashMap<>();
    private final Map<String, Long> delivered = new ConcurrentHashMap<>();
    private static final int MATCH_EVERY = Integer.getInteger("matchEvery", 0);
    private static final String MATCH_PREFIX = System.getProperty("matchPrefix", "hot-");
    private final Map<String, Long> allApplied = new ConcurrentHashMap<>();
    private final AtomicLong failures = new AtomicLong();
    private final Http http = new Http();

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        int rate = Integer.parseInt(args[1]);
        int seconds = Integer.parseInt(args[2]);
        int warmup = Integer.parseInt(args[3]);
        LatencyProbe probe = new LatencyProbe();
        if (mode.equals("kv")) {
            List<URI> apis = new ArrayList<>();
            for (int i = 5; i < args.length; i++) {
                apis.add(URI.create(args[i]));
            }
            probe.runKv(rate, seconds, warmup, args[4], apis);
        } else {
            probe.runEtcd(rate, seconds, warmup, URI.create(args[4]));
        }
        System.exit(0);
    }

    /** One WebSocket client: the keys it is expected to see (its {@code prefix}, or all) and when each arrived. */
    private record Watcher(String name, String prefix, WebSocket ws, Map<String, Long> delivered, AtomicLong received) {
    }

    /** {@code none}, one URL (named "websocket"), or NAME=URL,NAME=URL. */
    private static Map<String, URI> watcherUris(String arg) {
        Map<String, URI> uris = new java.util.LinkedHashMap<>();
        if (arg.equals("none")) {
            return uris;
        }
        if (!arg.contains("=") || arg.startsWith("ws")) {
            uris.put("websocket", URI.create(arg));
            return uris;
        }
        for (String item : arg.split(",")) {
            int eq = item.indexOf('=');
            uris.put(item.substring(0, eq), URI.create(item.substring(eq + 1)));
        }
        return uris;
    }

    private Watcher watch(HttpClient wsClient, String name, URI uri, Map<String, Long> arrivals) throws Exception {
        String query = uri.getRawQuery() == null ? "" : uri.getRawQuery();
        Matcher pm = Pattern.compile("(?:^|&)prefix=([^&]*)").matcher(query);
        String prefix = pm.find() ? java.net.URLDecoder.decode(pm.group(1), StandardCharsets.UTF_8) : "";
        AtomicLong received = new AtomicLong();
        WebSocket ws = wsClient.newWebSocketBuilder().buildAsync(uri, new WebSocket.Listener() {
            private final StringBuilder partial = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                long now = System.nanoTime();
                partial.append(data);
                if (last) {
                    Matcher m = WS_EVENT.matcher(partial);
                    if (m.find()) {
                        received.incrementAndGet();
                        arrivals.putIfAbsent(m.group(1), now);
                    }
                    partial.setLength(0);
                }
                webSocket.request(1);
                return null;
            }
        }).get(10, TimeUnit.SECONDS);
        return new Watcher(name, prefix, ws, arrivals, received);
    }

    private void runKv(int rate, int seconds, int warmup, String events, List<URI> apis) throws Exception {
        String run = "lat" + Long.toString(System.nanoTime() % 1_000_000_000L, 36) + "-";
        HttpClient wsClient = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .connectTimeout(Duration.ofSeconds(3))
                .build();
        List<Watcher> watchers = new ArrayList<>();
        for (Map.Entry<String, URI> w : watcherUris(events).entrySet()) {
            // the single, unnamed watcher keeps the field (and metric name) the latency benchmark reports
            watchers.add(watch(wsClient, w.getKey(), w.getValue(),
                               w.getKey().equals("websocket") ? delivered : new ConcurrentHashMap<>()));
        }
        byte[] value = "v".repeat(100).getBytes(StandardCharsets.UTF_8);
        try (ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor()) {
            drive(rate, warmup, seconds, (i, at, measured) -> {
                String key = (MATCH_EVERY > 0 && i % MATCH_EVERY == 0 ? MATCH_PREFIX : "")
                             + (measured ? run : run + "w") + i;
                int target = (int) (i % apis.size());
                if (measured) {
                    scheduled.put(key, at);
                }
                senders.submit(() -> {
                    try {
                        Http.Response res = http.send("PUT", apis.get(target).resolve("/values/" + key), value,
                                                      10_000);
                        long now = System.nanoTime();
                        if (res.status() != 200) {
                            failures.incrementAndGet();
                            return;
                        }
                        if (measured) {
                            acked.put(key, now);
                        }
                        // The warm-up polls too: measured seconds that began with the replicas' first GETs would
                        // measure their JIT compiling the read path, and the load stepping up, not the steady state.
                        if (i % sampleEvery(rate) == 0) {
                            String etag = res.header("etag", "");
                            long last = now;
                            for (int other = 0; other < apis.size(); other++) {
                                if (other != target) {
                                    last = Math.max(last, awaitVisible(apis.get(other), key, etag));
                                }
                            }
                            if (measured) {
                                allApplied.put(key, last);
                            }
                        }
                    } catch (Exception e) {
                        failures.incrementAndGet();
                    }
                });
            });
            for (Watcher w : watchers) {
                awaitLastDeliveries(w.delivered(), expected(w.prefix()));
            }
        }
        watchers.forEach(w -> w.ws().abort());
        report("put_ack_answering_replica", acked);
        report("put_applied_all_3_replicas", allApplied, scheduled.size() / sampleEvery(rate));
        for (Watcher w : watchers) {
            report("put_delivered_" + w.name(), w.delivered(), expected(w.prefix()).size());
            System.out.println("RECEIVED " + w.name() + " " + w.received().get());
        }
        System.out.println("FAILURES " + failures.get());
    }

    /**
     * GETs the key on one replica until its ETag is the written revision; returns that time. Polls every
     * {@code pollMicros} for the first 25 ms (the range the target is about), then backs off (up to 50 ms), so
     * a slow replica is not buried under the probe's own GETs.
     */
    private long awaitVisible(URI api, String key, String etag) throws Exception {
        long start = System.nanoTime();
        long deadline = start + TimeUnit.SECONDS.toNanos(10);
        long pause = POLL_NANOS;
        URI get = api.resolve("/values/" + key);
        while (System.nanoTime() < deadline) {
            Http.Response res = http.send("GET", get, null, 5_000);
            if (res.status() == 200 && res.header("etag", "-").equals(etag)) {
                return System.nanoTime();
            }
            LockSupport.parkNanos(pause);
            if (System.nanoTime() - start > TimeUnit.MILLISECONDS.toNanos(25)) {
                pause = Math.min(pause * 2, TimeUnit.MILLISECONDS.toNanos(50));
            }
        }
        throw new IllegalStateException("not visible in 10 s: " + key);
    }

    private void runEtcd(int rate, int seconds, int warmup, URI etcd) throws Exception {
        String run = "lat" + Long.toString(System.nanoTime() % 1_000_000_000L, 36) + "-";
        Base64.Encoder b64 = Base64.getEncoder();
        Base64.Decoder d64 = Base64.getDecoder();
        String prefix = b64.encodeToString(run.getBytes(StandardCharsets.UTF_8));
        byte[] end = run.getBytes(StandardCharsets.UTF_8);
        end[end.length - 1]++;
        String watchBody = "{\"create_request\":{\"key\":\"" + prefix + "\",\"range_end\":\""
                           + b64.encodeToString(end) + "\"}}";
        Thread watcher = Thread.ofVirtual().start(() -> {
            try {
                http.stream(etcd.resolve("/v3/watch"), watchBody.getBytes(StandardCharsets.UTF_8), line -> {
                    long now = System.nanoTime();
                    Matcher m = ETCD_KEY.matcher(line);
                    while (m.find()) {
                        delivered.putIfAbsent(new String(d64.decode(m.group(1)), StandardCharsets.UTF_8), now);
                    }
                });
            } catch (Exception e) {
                // the stream ends when the probe exits
            }
        });
        // The watch is created asynchronously: give it a moment (bounded) before writing.
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
        String value = b64.encodeToString("v".repeat(100).getBytes(StandardCharsets.UTF_8));
        try (ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor()) {
            drive(rate, warmup, seconds, (i, at, measured) -> {
                String key = (measured ? run : run + "w") + i;
                if (measured) {
                    scheduled.put(key, at);
                }
                byte[] body = ("{\"key\":\"" + b64.encodeToString(key.getBytes(StandardCharsets.UTF_8))
                               + "\",\"value\":\"" + value + "\"}").getBytes(StandardCharsets.UTF_8);
                senders.submit(() -> {
                    try {
                        Http.Response res = http.send("POST", etcd.resolve("/v3/kv/put"), body, 10_000);
                        if (res.status() != 200) {
                            failures.incrementAndGet();
                        } else if (measured) {
                            acked.put(key, System.nanoTime());
                        }
                    } catch (Exception e) {
                        failures.incrementAndGet();
                    }
                });
            });
            awaitLastDeliveries(delivered, scheduled);
        }
        watcher.interrupt();
        report("etcd_put_ack", acked);
        report("etcd_watch_delivered", delivered);
        System.out.println("FAILURES " + failures.get());
    }

    interface Send {
        void send(long i, long scheduledAt, boolean measured);
    }

    /** Calls {@code send} at a fixed rate: warm-up first (not measured), then the measured period. */
    private static void drive(int rate, int warmupSeconds, int seconds, Send send) {
        long interval = TimeUnit.SECONDS.toNanos(1) / rate;
        long total = (long) rate * (warmupSeconds + seconds);
        long warm = (long) rate * warmupSeconds;
        long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(10);
        for (long i = 0; i < total; i++) {
            long at = start + i * interval;
            long wait = at - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(wait);
            }
            send.send(i, at, i >= warm);
        }
    }

    /** The measured keys a watcher of {@code prefix} should see. */
    private Map<String, Long> expected(String prefix) {
        if (prefix.isEmpty()) {
            return scheduled;
        }
        Map<String, Long> keys = new HashMap<>();
        scheduled.forEach((key, at) -> {
            if (key.startsWith(prefix)) {
                keys.put(key, at);
            }
        });
        return keys;
    }

    private void report(String name, Map<String, Long> arrivals) {
        report(name, arrivals, scheduled.size());
    }

    private void report(String name, Map<String, Long> arrivals, int expected) {
        List<Double> ms = new ArrayList<>();
        List<String> slow = new ArrayList<>();
        arrivals.forEach((key, at) -> {
            Long sent = scheduled.get(key);
            if (sent != null) {
                ms.add((at - sent) / 1e6);
                if (SLOW_FILE != null && at - sent >= SLOW_NANOS) {
                    slow.add(String.format(Locale.ROOT, "%s %s %.3f %s", name,
                                           Instant.ofEpochMilli(NANO_TO_EPOCH_MS + sent / 1_000_000), (at - sent) / 1e6, key));
                }
            }
        });
        if (!slow.isEmpty()) {
            slow.sort(null);
            try {
                Files.write(Path.of(SLOW_FILE), slow, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        ms.sort(Double::compare);
        if (ms.isEmpty()) {
            System.out.printf(Locale.ROOT, "METRIC %s 0 nan nan nan %d%n", name, expected);
            return;
        }
        System.out.printf(Locale.ROOT, "METRIC %s %d %.3f %.3f %.3f %d%n", name, ms.size(), pct(ms, 50), pct(ms, 99),
                          ms.getLast(), Math.max(0, expected - ms.size()));
    }

    private static double pct(List<Double> sorted, double p) {
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100 * sorted.size()) - 1));
    }

    /** Lets the last writes arrive: until every scheduled key was delivered, for at most 10 s. */
    private static void awaitLastDeliveries(Map<String, Long> delivered, Map<String, Long> scheduled) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline
               && delivered.keySet().stream().filter(scheduled::containsKey).count() < scheduled.size()) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
    }


    /**
     * A minimal HTTP/1.1 client on blocking sockets (TCP_NODELAY), meant for virtual threads: per host and port a
     * pool of keep-alive connections (take a free one or open a new one, give it back once the response is read,
     * drop it on any error or {@code Connection: close}). Bodies by Content-Length or chunked encoding.
     */
    static final class Http {
        record Response(int status, Map<String, String> headers, byte[] body) {
            /** The first value of a header; {@code name} in lower case. */
            String header(String name, String absent) {
                return headers.getOrDefault(name, absent);
            }
        }

        private static final int CONNECT_MILLIS = 3_000;
        private final Map<String, Queue<Conn>> pools = new ConcurrentHashMap<>();

        /** Sends one request ({@code body} null: none) and reads the whole response; reads time out. */
        Response send(String method, URI uri, byte[] body, int timeoutMillis) throws IOException {
            byte[] request = request(method, uri, body);
            Queue<Conn> pool = pools.computeIfAbsent(uri.getHost() + ":" + port(uri),
                                                     k -> new ConcurrentLinkedQueue<>());
            while (true) {
                Conn pooled = pool.poll();
                Conn conn = pooled != null ? pooled : new Conn(uri, timeoutMillis);
                boolean answered = false;
                try {
                    conn.socket.setSoTimeout(timeoutMillis);
                    conn.out.write(request);
                    int first = conn.in.read();
                    if (first < 0) {
                        throw new EOFException("connection closed before the response");
                    }
                    answered = true;
                    Response res = readResponse(conn.in, first);
                    if (keepAlive(res)) {
                        pool.offer(conn);
                    } else {
                        conn.socket.close();
                    }
                    return res;
                } catch (IOException | RuntimeException e) {
                    conn.socket.close();
                    // A pooled connection the server closed while idle (no answer at all): retry on another.
                    if (pooled == null || answered
                        || !(e instanceof EOFException || e instanceof java.net.SocketException)) {
                        throw e;
                    }
                }
            }
        }

        /**
         * POSTs {@code body} on a connection of its own and passes each line of the (chunked, long-lived) response
         * to {@code lines} until the stream ends; no read timeout (it ends when the probe exits or is interrupted).
         */
        void stream(URI uri, byte[] body, Consumer<String> lines) throws IOException {
            try (Conn conn = new Conn(uri, 0)) {
                conn.out.write(request("POST", uri, body));
                Map<String, String> headers = new HashMap<>();
                int status = readHead(conn.in, -1, headers);
                if (status != 200) {
                    throw new IOException("HTTP " + status);
                }
                InputStream bodyIn = headers.getOrDefault("transfer-encoding", "").contains("chunked")
                        ? new Chunked(conn.in) : conn.in;
                BufferedReader reader = new BufferedReader(new InputStreamReader(bodyIn, StandardCharsets.UTF_8));
                for (String line; (line = reader.readLine()) != null; ) {
                    lines.accept(line);
                }
            }
        }

        private static int port(URI uri) {
            return uri.getPort() >= 0 ? uri.getPort() : 80;
        }

        private static byte[] request(String method, URI uri, byte[] body) {
            String path = uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
            String head = method + " " + path + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery())
                          + " HTTP/1.1\r\nHost: " + uri.getHost() + ":" + port(uri) + "\r\n"
                          + (body == null ? "" : "Content-Length: " + body.length + "\r\n") + "\r\n";
            byte[] headBytes = head.getBytes(StandardCharsets.ISO_8859_1);
            if (body == null) {
                return headBytes;
            }
            byte[] request = Arrays.copyOf(headBytes, headBytes.length + body.length);
            System.arraycopy(body, 0, request, headBytes.length, body.length);
            return request;
        }

        private static Response readResponse(InputStream in, int first) throws IOException {
            Map<String, String> headers = new HashMap<>();
            int status = readHead(in, first, headers);
            byte[] body;
            if (status == 204 || status == 304) {
                body = new byte[0];
            } else if (headers.getOrDefault("transfer-encoding", "").contains("chunked")) {
                body = new Chunked(in).readAllBytes();
            } else if (headers.containsKey("content-length")) {
                body = in.readNBytes(Integer.parseInt(headers.get("content-length").trim()));
            } else {
                headers.put("connection", "close"); // the body ends with the connection
                body = in.readAllBytes();
            }
            return new Response(status, headers, body);
        }

        /** Reads the status line and headers (names in lower case, first value kept); returns the status. */
        private static int readHead(InputStream in, int first, Map<String, String> headers) throws IOException {
            String statusLine = readLine(in, first);
            if (statusLine.startsWith("HTTP/1.0")) {
                headers.put("connection", "close");
            }
            for (String line; !(line = readLine(in, -1)).isEmpty(); ) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    headers.putIfAbsent(line.substring(0, colon).trim().toLowerCase(Locale.ROOT),
                                        line.substring(colon + 1).trim());
                }
            }
            return Integer.parseInt(statusLine.split(" ", 3)[1]);
        }

        /** One line up to CRLF (or LF), without it; {@code first} is an already read byte, or -1. */
        private static String readLine(InputStream in, int first) throws IOException {
            StringBuilder line = new StringBuilder();
            for (int b = first >= 0 ? first : in.read(); b != '\n'; b = in.read()) {
                if (b < 0) {
                    throw new EOFException("connection closed in the response head");
                }
                line.append((char) b);
            }
            int end = line.length();
            return line.substring(0, end > 0 && line.charAt(end - 1) == '\r' ? end - 1 : end);
        }

        private static boolean keepAlive(Response res) {
            return !res.header("connection", "").toLowerCase(Locale.ROOT).contains("close");
        }

        /** One connection; {@code timeoutMillis} 0 means reads never time out. */
        private static final class Conn implements AutoCloseable {
            final Socket socket = new Socket();
            final InputStream in;
            final OutputStream out;

            Conn(URI uri, int timeoutMillis) throws IOException {
                try {
                    socket.setTcpNoDelay(true);
                    socket.connect(new InetSocketAddress(uri.getHost(), port(uri)), CONNECT_MILLIS);
                    socket.setSoTimeout(timeoutMillis);
                    in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
                    out = socket.getOutputStream();
                } catch (IOException e) {
                    socket.close();
                    throw e;
                }
            }

            @Override
            public void close() throws IOException {
                socket.close();
            }
        }

        /** The body of a chunked response: ends (-1) after the last chunk and the trailers are read. */
        private static final class Chunked extends InputStream {
            private final InputStream in;
            private long left; // bytes left in the current chunk
            private boolean started;
            private boolean done;

            Chunked(InputStream in) {
                this.in = in;
            }

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] buf, int off, int len) throws IOException {
                if (len == 0) {
                    return 0;
                }
                if (left == 0 && !done) {
                    if (started) {
                        readLine(in, -1); // the CRLF after the previous chunk's data (read late: never waits for it)
                    }
                    started = true;
                    String size = readLine(in, -1);
                    int ext = size.indexOf(';');
                    left = Long.parseLong((ext < 0 ? size : size.substring(0, ext)).trim(), 16);
                    if (left == 0) {
                        done = true;
                        while (!readLine(in, -1).isEmpty()) {
                            // trailers: ignored
                        }
                    }
                }
                if (done) {
                    return -1;
                }
                int n = in.read(buf, off, (int) Math.min(len, left));
                if (n < 0) {
                    throw new EOFException("connection closed in a chunk");
                }
                left -= n;
                return n;
            }
        }
    }
}
