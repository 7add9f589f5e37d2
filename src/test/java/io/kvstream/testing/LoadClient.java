package io.kvstream.testing;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * Many concurrent writers that remember every acknowledged write: key → last acknowledged value and the
 * revision the server answered with. Used by convergence and fault tests to prove nothing acknowledged is lost.
 */
public final class LoadClient implements AutoCloseable {
    private final HttpClient http = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .executor(Executors.newVirtualThreadPerTaskExecutor())
            .build();
    private final Map<String, Acknowledged> acknowledgedWrites = new ConcurrentHashMap<>();
    private final AtomicLong acknowledged = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();

    /**
     * {@code writers} threads each PUT {@code writesPerWriter} times to key {@code w<writer>-k<i % keysPerWriter>},
     * sending writer {@code n}'s requests to {@code baseUri.apply(n)}. Keys are owned by one writer, so the
     * last acknowledged value of each key is known exactly.
     */
    public void run(int writers, int writesPerWriter, int keysPerWriter, IntFunction<URI> baseUri) throws Exception {
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> running = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int writer = w;
                running.add(threads.submit(() -> {
                    for (int i = 0; i < writesPerWriter; i++) {
                        put(baseUri.apply(writer), "w" + writer + "-k" + (i % keysPerWriter), "v" + i);
                    }
                    return null;
                }));
            }
            for (Future<?> f : running) {
                f.get();
            }
        }
    }

    /**
     * Like {@link #run} but until {@code keepGoing} turns false: the write loop that fault tests break things under.
     * Returns the running writers; close the returned executor to wait for them.
     */
    public ExecutorService start(int writers, int keysPerWriter, java.util.function.BooleanSupplier keepGoing,
                                 IntFunction<URI> baseUri) {
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
        for (int w = 0; w < writers; w++) {
            int writer = w;
            threads.submit(() -> {
                for (int i = 0; keepGoing.getAsBoolean(); i++) {
                    int status = put(baseUri.apply(writer), "w" + writer + "-k" + (i % keysPerWriter), "v" + i);
                    statuses.merge(status, 1L, Long::sum);
                }
            });
        }
        return threads;
    }

    private final Map<Integer, Long> statuses = new ConcurrentHashMap<>();
    /** The messages of unsuccessful answers, "status message" → count, for a test to print what went wrong. */
    private final Map<String, Long> failures = new ConcurrentHashMap<>();
    private static final int MAX_DISTINCT_FAILURES = 20;
    private final Map<String, Accepted> acceptedCommands = new ConcurrentHashMap<>();

    /**
     * Like {@link #start}, but every PUT asks for {@code Prefer: respond-async} and writes a key of its own,
     * {@code a<writer>-<i>}: each 202 is recorded with its command id, to check later that it was committed.
     */
    public ExecutorService startAsync(int writers, java.util.function.BooleanSupplier keepGoing,
                                      IntFunction<URI> baseUri) {
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
        for (int w = 0; w < writers; w++) {
            int writer = w;
            threads.submit(() -> {
                for (int i = 0; keepGoing.getAsBoolean(); i++) {
                    int status = putAsync(baseUri.apply(writer), "a" + writer + "-" + i, "v" + i);
                    statuses.merge(status, 1L, Long::sum);
                }
            });
        }
        return threads;
    }

    /** One {@code Prefer: respond-async} PUT; a 202 is recorded under its command id. Returns the status (-1: none). */
    public int putAsync(URI base, String key, String value) {
        try {
            HttpResponse<String> res = send(base, key, value, true);
            if (res.statusCode() == 202) {
                String command = com.google.gson.JsonParser.parseString(res.body()).getAsJsonObject()
                        .get("command").getAsString();
                acceptedCommands.put(command, new Accepted(key, value));
            } else {
                failed(res);
            }
            return res.statusCode();
        } catch (Exception e) {
            failed.incrementAndGet();
            return -1;
        }
    }

    /** One PUT, with {@code Prefer: respond-async} if {@code async}. */
    private HttpResponse<String> send(URI base, String key, String value, boolean async) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve("/values/" + key))
                .timeout(Duration.ofSeconds(15))
                .PUT(HttpRequest.BodyPublishers.ofString(value));
        if (async) {
            request.header("Prefer", "respond-async");
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** What an accepted (202) command writes. */
    public record Accepted(String key, String value) {
    }

    /** Command id → what it writes, of every write answered 202. */
    public Map<String, Accepted> acceptedCommands() {
        return acceptedCommands;
    }

    private void failed(HttpResponse<String> res) {
        failed.incrementAndGet();
        String failure = res.statusCode() + " " + messageOf(res.body());
        if (failures.containsKey(failure) || failures.size() < MAX_DISTINCT_FAILURES) {
            failures.merge(failure, 1L, Long::sum);
        }
    }

    /** An error body's "message" (its other fields differ per request), or the whole body if it has none. */
    private static String messageOf(String body) {
        try {
            return com.google.gson.JsonParser.parseString(body).getAsJsonObject().get("message").getAsString();
        } catch (RuntimeException e) {
            return body;
        }
    }

    /** The distinct unsuccessful answers of the write loops (the first few kinds), each with how often it came. */
    public Map<String, Long> failures() {
        return failures;
    }

    /** How many answers of each status the write loop got (-1: no answer at all). */
    public Map<Integer, Long> statuses() {
        return statuses;
    }

    /** One PUT; records it if the server acknowledged it with 200. Returns the status (or -1 on I/O error). */
    public int put(URI base, String key, String value) {
        try {
            HttpResponse<String> res = send(base, key, value, false);
            if (res.statusCode() == 200) {
                String etag = res.headers().firstValue("ETag").orElseThrow();
                long revision = Long.parseLong(etag.replace("\"", ""));
                // Each key belongs to one sequential writer, so the latest acknowledgement is the last one.
                acknowledgedWrites.put(key, new Acknowledged(value, revision));
                acknowledged.incrementAndGet();
            } else {
                failed(res);
            }
            return res.statusCode();
        } catch (Exception e) {
            failed.incrementAndGet();
            return -1;
        }
    }

    /**
     * Creates {@code key} ({@code If-None-Match: *}) under one fresh {@code Idempotency-Key}, sending the same request
     * again after whatever may hide a committed write (no answer, 502, 503, 504) until a final answer or
     * {@code patience} runs out; records it if acknowledged with 200. Returns the final status (-1: none) and how
     * many times the request was sent.
     */
    public Attempts createOnce(URI base, String key, String value, Duration patience) {
        String idempotencyKey = "\"" + UUID.randomUUID() + "\"";
        long deadline = System.nanoTime() + patience.toNanos();
        int status = -1;
        int sent = 0;
        while (System.nanoTime() < deadline) {
            sent++;
            try {
                HttpResponse<String> res = http.send(
                        HttpRequest.newBuilder(base.resolve("/values/" + key))
                                .timeout(Duration.ofSeconds(15))
                                .header("If-None-Match", "*")
                                .header("Idempotency-Key", idempotencyKey)
                                .PUT(HttpRequest.BodyPublishers.ofString(value)).build(),
                        HttpResponse.BodyHandlers.ofString());
                status = res.statusCode();
                statuses.merge(status, 1L, Long::sum);
                if (status == 200) {
                    long revision = Long.parseLong(res.headers().firstValue("ETag").orElseThrow().replace("\"", ""));
                    acknowledgedWrites.put(key, new Acknowledged(value, revision));
                    acknowledged.incrementAndGet();
                    return new Attempts(status, sent, res.body());
                }
                if (status != 502 && status != 503 && status != 504) {
                    failed.incrementAndGet();
                    return new Attempts(status, sent, res.body());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (Exception e) {
                status = -1;
                statuses.merge(-1, 1L, Long::sum);
            }
        }
        failed.incrementAndGet();
        return new Attempts(status, sent, null);
    }

    /** The final answer of {@link #createOnce} and how many times its request was sent. */
    public record Attempts(int status, int sent, String body) {
    }

    /** The last acknowledged write of each key: its value and the revision the server answered. */
    public record Acknowledged(String value, long revision) {
    }

    public Map<String, Acknowledged> acknowledgedWrites() {
        return acknowledgedWrites;
    }

    public long acknowledged() {
        return acknowledged.get();
    }

    public long failed() {
        return failed.get();
    }

    /**
     * Stops the client without waiting on what a fault left behind: {@code HttpClient.close()} waits for every
     * exchange the client still tracks, and after a broker or server outage one can linger with no writer waiting
     * on it (seen as a test that never ended).
     */
    @Override
    public void close() {
        http.shutdownNow();
        try {
            http.awaitTermination(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
