import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Steady synchronous writers for bench/recovery.sh (no dependencies: {@code java bench/RecoveryProbe.java ...}).
 * <pre>
 * java RecoveryProbe.java write WRITERS PERIOD_MS ACKS_FILE STOP_FILE http://api1 [http://api2 ...]
 * java RecoveryProbe.java verify ACKS_FILE http://api
 * java RecoveryProbe.java windows ACKS_FILE FAULTS_FILE
 * </pre>
 * write: WRITERS writers (spread round robin over the API processes, straight, not through nginx, so one process's
 * answer is not hidden behind another's) each PUT a new key at most every PERIOD_MS, synchronously, and after a
 * failure (503, 504, refused connection) wait PERIOD_MS and write the next key. Every 200 is a line
 * {@code epoch_ms key value} in ACKS_FILE; every failure a line {@code F epoch_ms status}. Stops when STOP_FILE
 * exists.
 * <p>
 * verify: GETs every acknowledged key and prints {@code VERIFY acked=N missing=M wrong=W} (a missing or changed
 * value is an acknowledged write lost).
 * <p>
 * windows: for each fault line {@code name start_ms end_ms observe_until_ms} of FAULTS_FILE, the longest gap between
 * two consecutive acknowledged writes that overlaps [start, observe_until], and how far it reaches beyond the outage:
 * from {@code end} (service restored) to the first write acknowledged after the gap, or, for a fault without an
 * outage ({@code end == start}, a killed worker), the gap itself: {@code WINDOW name outage_ms gap_ms beyond_ms}.
 */
public final class RecoveryProbe {
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(2))
            .version(HttpClient.Version.HTTP_1_1)
            .build();

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "write" -> write(Integer.parseInt(args[1]), Long.parseLong(args[2]), Path.of(args[3]),
                                  Path.of(args[4]), List.of(args).subList(5, args.length));
            case "verify" -> verify(Path.of(args[1]), args[2]);
            case "windows" -> windows(Path.of(args[1]), Path.of(args[2]));
            default -> throw new IllegalArgumentException("write | verify | windows");
        }
    }

    private static void write(int writers, long periodMs, Path acks, Path stop, List<String> apis) throws Exception {
        ConcurrentLinkedQueue<String> lines = new ConcurrentLinkedQueue<>();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong sequence = new AtomicLong();
        String run = Long.toString(System.currentTimeMillis(), 36);
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            String api = apis.get(w % apis.size());
            threads.add(Thread.ofVirtual().start(() -> {
                while (running.get()) {
                    long started = System.nanoTime();
                    String key = "rec-" + run + "-" + sequence.incrementAndGet();
                    String value = "v" + started;
                    int status;
                    try {
                        status = HTTP.send(HttpRequest.newBuilder(URI.create(api + "/values/" + key))
                                                   .timeout(Duration.ofSeconds(15))
                                                   .PUT(HttpRequest.BodyPublishers.ofString(value))
                                                   .build(),
                                           HttpResponse.BodyHandlers.discarding()).statusCode();
                    } catch (IOException e) {
                        status = 0;
                    } catch (InterruptedException e) {
                        return;
                    }
                    long now = System.currentTimeMillis();
                    lines.add(status == 200 ? now + " " + key + " " + value : "F " + now + " " + status);
                    long rest = periodMs - (System.nanoTime() - started) / 1_000_000;
                    if (rest > 0) {
                        sleep(rest);
                    }
                }
            }));
        }
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(acks, StandardCharsets.UTF_8))) {
            while (!Files.exists(stop)) {
                sleep(100);
                drain(lines, out);
            }
            running.set(false);
            for (Thread thread : threads) {
                thread.join(Duration.ofSeconds(20));
            }
            drain(lines, out);
        }
    }

    private static void drain(ConcurrentLinkedQueue<String> lines, PrintWriter out) {
        for (String line; (line = lines.poll()) != null; ) {
            out.println(line);
        }
        out.flush();
    }

    private static void verify(Path acks, String api) throws Exception {
        long acked = 0;
        long missing = 0;
        long wrong = 0;
        for (String line : Files.readAllLines(acks)) {
            String[] f = line.split(" ");
            if (f[0].equals("F")) {
                continue;
            }
            acked++;
            HttpResponse<String> got = HTTP.send(HttpRequest.newBuilder(URI.create(api + "/values/" + f[1]))
                                                         .timeout(Duration.ofSeconds(10)).GET().build(),
                                                 HttpResponse.BodyHandlers.ofString());
            if (got.statusCode() == 404) {
                missing++;
            } else if (got.statusCode() != 200 || !got.body().contains("\"value\":\"" + f[2] + "\"")) {
                wrong++;
            }
        }
        System.out.printf("VERIFY acked=%d missing=%d wrong=%d%n", acked, missing, wrong);
    }

    private static void windows(Path acks, Path faults) throws IOException {
        long[] times = Files.readAllLines(acks).stream()
                .filter(l -> !l.startsWith("F "))
                .mapToLong(l -> Long.parseLong(l.substring(0, l.indexOf(' '))))
                .sorted()
                .toArray();
        for (String line : Files.readAllLines(faults)) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 4) {
                continue;
            }
            long start = Long.parseLong(f[1]);
            long end = Long.parseLong(f[2]);
            long until = Long.parseLong(f[3]);
            // Gaps are cut at the end of the observation: what comes after belongs to the next fault.
            long gap = 0;
            long gapEnd = start;
            for (int i = 0; i < times.length && times[i] < until; i++) {
                long next = Math.min(i + 1 < times.length ? times[i + 1] : until, until);
                if (next > start && next - times[i] > gap) {
                    gap = next - times[i];
                    gapEnd = next;
                }
            }
            long beyond = end == start ? gap : Math.max(0, gapEnd - end);
            System.out.printf(Locale.ROOT, "WINDOW %s %d %d %d%n", f[0], end - start, gap, beyond);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
