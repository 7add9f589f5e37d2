import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
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

    private final Map<String, Long> scheduled = new ConcurrentHashMap<>();
    private final Map<String, Long> acked = new ConcurrentHashMap<>();
    private final Map<String, Long> delivered = new ConcurrentHashMap<>();
    private final Map<String, Long> allApplied = new ConcurrentHashMap<>();
    private final AtomicLong failures = new AtomicLong();
    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .executor(Executors.newVirtualThreadPerTaskExecutor())
            .connectTimeout(Duration.ofSeconds(3))
            .build();

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
            probe.runKv(rate, seconds, warmup, URI.create(args[4]), apis);
        } else {
            probe.runEtcd(rate, seconds, warmup, URI.create(args[4]));
        }
        System.exit(0);
    }

    private void runKv(int rate, int seconds, int warmup, URI events, List<URI> apis) throws Exception {
        String run = "lat" + Long.toString(System.nanoTime() % 1_000_000_000L, 36) + "-";
        WebSocket ws = http.newWebSocketBuilder().buildAsync(events, new WebSocket.Listener() {
            private final StringBuilder partial = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                long now = System.nanoTime();
                partial.append(data);
                if (last) {
                    Matcher m = WS_EVENT.matcher(partial);
                    if (m.find()) {
                        delivered.putIfAbsent(m.group(1), now);
                    }
                    partial.setLength(0);
                }
                webSocket.request(1);
                return null;
            }
        }).get(10, TimeUnit.SECONDS);
        String value = "v".repeat(100);
        try (ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor()) {
            drive(rate, warmup, seconds, (i, at, measured) -> {
                String key = (measured ? run : run + "w") + i;
                int target = (int) (i % apis.size());
                if (measured) {
                    scheduled.put(key, at);
                }
                senders.submit(() -> {
                    try {
                        HttpResponse<String> res = http.send(
                                HttpRequest.newBuilder(apis.get(target).resolve("/values/" + key))
                                        .timeout(Duration.ofSeconds(10))
                                        .PUT(HttpRequest.BodyPublishers.ofString(value)).build(),
                                HttpResponse.BodyHandlers.ofString());
                        long now = System.nanoTime();
                        if (res.statusCode() != 200) {
                            failures.incrementAndGet();
                            return;
                        }
                        if (!measured) {
                            return;
                        }
                        acked.put(key, now);
                        if (i % sampleEvery(rate) == 0) {
                            String etag = res.headers().firstValue("ETag").orElse("");
                            long last = now;
                            for (int other = 0; other < apis.size(); other++) {
                                if (other != target) {
                                    last = Math.max(last, awaitVisible(apis.get(other), key, etag));
                                }
                            }
                            allApplied.put(key, last);
                        }
                    } catch (Exception e) {
                        failures.incrementAndGet();
                    }
                });
            });
            awaitLastDeliveries(delivered, scheduled);
        }
        ws.abort();
        report("put_ack_answering_replica", acked);
        report("put_applied_all_3_replicas", allApplied, scheduled.size() / sampleEvery(rate));
        report("put_delivered_websocket", delivered);
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
        HttpRequest get = HttpRequest.newBuilder(api.resolve("/values/" + key)).timeout(Duration.ofSeconds(5)).build();
        while (System.nanoTime() < deadline) {
            HttpResponse<Void> res = http.send(get, HttpResponse.BodyHandlers.discarding());
            if (res.statusCode() == 200 && res.headers().firstValue("ETag").orElse("-").equals(etag)) {
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
                HttpResponse<java.util.stream.Stream<String>> res = http.send(
                        HttpRequest.newBuilder(etcd.resolve("/v3/watch"))
                                .POST(HttpRequest.BodyPublishers.ofString(watchBody)).build(),
                        HttpResponse.BodyHandlers.ofLines());
                res.body().forEach(line -> {
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
                String body = "{\"key\":\"" + b64.encodeToString(key.getBytes(StandardCharsets.UTF_8))
                              + "\",\"value\":\"" + value + "\"}";
                senders.submit(() -> {
                    try {
                        HttpResponse<String> res = http.send(
                                HttpRequest.newBuilder(etcd.resolve("/v3/kv/put")).timeout(Duration.ofSeconds(10))
                                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (res.statusCode() != 200) {
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

    private void report(String name, Map<String, Long> arrivals) {
        report(name, arrivals, scheduled.size());
    }

    private void report(String name, Map<String, Long> arrivals, int expected) {
        List<Double> ms = new ArrayList<>();
        arrivals.forEach((key, at) -> {
            Long sent = scheduled.get(key);
            if (sent != null) {
                ms.add((at - sent) / 1e6);
            }
        });
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
}
