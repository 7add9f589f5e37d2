import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Many keys expiring at once, for bench/expiry.sh (no dependencies: {@code java bench/ExpiryProbe.java ...}).
 * <pre>
 * java ExpiryProbe.java http://api http://websocket KEYS TTL_S WRITERS RUN
 * </pre>
 * Watches {@code /events?prefix=exp-RUN-} (SSE, on the websocket process), enqueues KEYS keys {@code exp-RUN-i} with
 * {@code ?ttl=TTL_S} ({@code Prefer: respond-async}, 64 clients: they commit in large batches, so their deadlines
 * are close together; each put event on the stream names its deadline), and keeps WRITERS synchronous writers
 * PUTting other keys the whole time. Once every key's {@code "expired":true} delete has arrived on the stream, prints one line:
 * {@code EXPIRY keys deadline_spread_ms first_ms last_ms base_p50 base_p99 during_p50 during_p99 during_max
 * during_writes errors}: the deadlines' spread, when the first and the last expiry arrived after the last deadline
 * (first_ms may be negative: keys with earlier deadlines go first), and the other writers' latency (ms) between the
 * last put's event and the first deadline (base) and from the first deadline until the last expiry arrived (during).
 */
public final class ExpiryProbe {
    // HTTP/1.1: the JDK's default (HTTP/2) would ask a plain-text server for an h2c upgrade on every request.
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private static final Pattern EXPIRES = Pattern.compile("\"expires\":\"([^\"]+)\"");

    private record Write(long startMs, long latencyNanos, boolean ok) {
    }

    public static void main(String[] args) throws Exception {
        String api = args[0];
        String events = args[1];
        int keys = Integer.parseInt(args[2]);
        int ttl = Integer.parseInt(args[3]);
        int writers = Integer.parseInt(args[4]);
        String prefix = "exp-" + args[5] + "-";

        AtomicInteger expired = new AtomicInteger();
        AtomicLong firstExpiryMs = new AtomicLong();
        AtomicLong lastExpiryMs = new AtomicLong();
        CountDownLatch allExpired = new CountDownLatch(1);
        CountDownLatch streaming = new CountDownLatch(1);
        ConcurrentLinkedQueue<Instant> deadlines = new ConcurrentLinkedQueue<>();
        AtomicLong lastPutMs = new AtomicLong();
        Thread.ofVirtual().start(() -> watch(events, prefix, keys, deadlines, lastPutMs, expired, firstExpiryMs,
                                             lastExpiryMs, streaming, allExpired));
        streaming.await();

        AtomicBoolean writing = new AtomicBoolean(true);
        ConcurrentLinkedQueue<Write> writes = new ConcurrentLinkedQueue<>();
        List<Thread> steady = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            int writer = w;
            steady.add(Thread.ofVirtual().start(() -> {
                for (long i = 0; writing.get(); i++) {
                    long start = System.nanoTime();
                    long startMs = System.currentTimeMillis();
                    int status = put(api, "steady-" + writer + "-" + (i % 100), "", "v" + i);
                    writes.add(new Write(startMs, System.nanoTime() - start, status == 200));
                }
            }));
        }

        AtomicInteger failedPuts = new AtomicInteger();
        try (var pool = Executors.newFixedThreadPool(64, Thread.ofVirtual().factory())) {
            for (int i = 0; i < keys; i++) {
                String key = prefix + i;
                pool.submit(() -> {
                    HttpResponse<String> answer = send(api, key, "?ttl=" + ttl, "x", true);
                    if (answer == null || answer.statusCode() != 202) {
                        failedPuts.incrementAndGet();
                    }
                });
            }
        }
        if (failedPuts.get() > 0) {
            System.err.println("ExpiryProbe: " + failedPuts.get() + " PUTs with ttl failed");
        }
        allExpired.await();
        writing.set(false);
        for (Thread t : steady) {
            t.join();
        }
        if (expired.get() < keys) {
            System.err.println("ExpiryProbe: the stream ended after " + expired.get() + " of " + keys + " expiries");
            System.exit(1);
        }

        long firstDeadline = Collections.min(deadlines).toEpochMilli();
        long lastDeadline = Collections.max(deadlines).toEpochMilli();
        List<Long> base = new ArrayList<>();
        List<Long> during = new ArrayList<>();
        long errors = 0;
        for (Write w : writes) {
            if (!w.ok()) {
                errors++;
            } else if (w.startMs() >= lastPutMs.get() && w.startMs() < firstDeadline) {
                base.add(w.latencyNanos());
            } else if (w.startMs() <= lastExpiryMs.get()) {
                during.add(w.latencyNanos());
            }
        }
        Collections.sort(base);
        Collections.sort(during);
        System.out.printf(Locale.ROOT, "EXPIRY %d %d %d %d %.2f %.2f %.2f %.2f %.2f %d %d%n", keys,
                          lastDeadline - firstDeadline, firstExpiryMs.get() - lastDeadline,
                          lastExpiryMs.get() - lastDeadline, ms(base, 0.5), ms(base, 0.99), ms(during, 0.5),
                          ms(during, 0.99), ms(during, 1.0), during.size(), errors + failedPuts.get());
    }

    private static double ms(List<Long> sorted, double q) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        return sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * q))) / 1e6;
    }

    private static void watch(String events, String prefix, int keys, ConcurrentLinkedQueue<Instant> deadlines,
                              AtomicLong lastPutMs, AtomicInteger expired, AtomicLong first, AtomicLong last,
                              CountDownLatch streaming, CountDownLatch allExpired) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(events + "/events?prefix=" + prefix))
                .header("Accept", "text/event-stream").GET().build();
        try {
            HttpResponse<InputStream> response = HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
            streaming.countDown();
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(),
                                                                                 StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null; ) {
                    Matcher put = EXPIRES.matcher(line);
                    if (line.startsWith("data:") && put.find()) {
                        deadlines.add(Instant.parse(put.group(1)));
                        lastPutMs.set(System.currentTimeMillis());
                    } else if (line.startsWith("data:") && line.contains("\"expired\":true")) {
                        long now = System.currentTimeMillis();
                        first.compareAndSet(0, now);
                        last.set(now);
                        if (expired.incrementAndGet() == keys) {
                            allExpired.countDown();
                            return;
                        }
                    }
                }
            }
            System.err.println("ExpiryProbe: the event stream ended (status " + response.statusCode() + ")");
        } catch (IOException e) {
            System.err.println("ExpiryProbe: the event stream failed: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        streaming.countDown();
        allExpired.countDown();
    }

    private static int put(String api, String key, String query, String value) {
        HttpResponse<String> answer = send(api, key, query, value, false);
        return answer == null ? 0 : answer.statusCode();
    }

    private static HttpResponse<String> send(String api, String key, String query, String value, boolean async) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(api + "/values/" + key + query))
                .timeout(Duration.ofSeconds(30))
                .PUT(HttpRequest.BodyPublishers.ofString(value));
        if (async) {
            request.header("Prefer", "respond-async");
        }
        try {
            return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
