import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

/**
 * A gauge of the machine, so that two sittings' figures can be told apart from a change of machine: how fast one core
 * computes, what handing work between two threads costs (a wake-up and a sleep on each side: on a virtual machine
 * each may be a trip through the hypervisor, and a write crosses many of them), and what a small write made durable
 * costs on the disk the servers use. Each figure is the median of several rounds after a warm-up.
 *   java bench/MachineGauge.java DIR   -> one line: "cpu_ns_per_step handoff_us_per_round_trip fsync_us"
 */
public final class MachineGauge {
    private static final int ROUNDS = 7;

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : System.getProperty("java.io.tmpdir"));
        double cpu = median(() -> cpuNanosPerStep(20_000_000));
        double handoff = median(() -> handoffMicrosPerRoundTrip(2_000));
        double fsync = median(() -> fsyncMicros(dir, 100));
        System.out.printf(Locale.ROOT, "%.2f %.1f %.0f%n", cpu, handoff, fsync);
    }

    private interface Round {
        double measure() throws Exception;
    }

    /** The median of {@link #ROUNDS} rounds, after one round that is thrown away (JIT, caches, disk). */
    private static double median(Round round) throws Exception {
        round.measure();
        double[] values = new double[ROUNDS];
        for (int i = 0; i < ROUNDS; i++) {
            values[i] = round.measure();
        }
        Arrays.sort(values);
        return values[ROUNDS / 2];
    }

    /** A chain of dependent integer steps (a hash mix), so neither the JIT nor the CPU can skip or overlap them. */
    private static double cpuNanosPerStep(int steps) {
        long start = System.nanoTime();
        long x = start;
        for (int i = 0; i < steps; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
        }
        long elapsed = System.nanoTime() - start;
        if (x == 42) {
            System.out.print("");
        }
        return (double) elapsed / steps;
    }

    private static volatile int turn;

    /** Two platform threads that wake each other in turn: each round trip is two wake-ups and two sleeps. */
    private static double handoffMicrosPerRoundTrip(int roundTrips) throws InterruptedException {
        turn = 0;
        Thread main = Thread.currentThread();
        Thread other = Thread.ofPlatform().daemon().start(() -> {
            for (int i = 0; i < roundTrips; i++) {
                while (turn != 1) {
                    LockSupport.park();
                }
                turn = 0;
                LockSupport.unpark(main);
            }
        });
        long start = System.nanoTime();
        for (int i = 0; i < roundTrips; i++) {
            turn = 1;
            LockSupport.unpark(other);
            while (turn != 0) {
                LockSupport.park();
            }
        }
        long elapsed = System.nanoTime() - start;
        other.join();
        return elapsed / 1000.0 / roundTrips;
    }

    /** An 8 KiB write at the start of a file and an fdatasync, as a database's commit does. */
    private static double fsyncMicros(Path dir, int writes) throws IOException {
        Path file = Files.createTempFile(dir, "gauge", ".dat");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ByteBuffer page = ByteBuffer.allocate(8192);
            long start = System.nanoTime();
            for (int i = 0; i < writes; i++) {
                page.clear();
                channel.write(page, 0);
                channel.force(false);
            }
            return (System.nanoTime() - start) / 1000.0 / writes;
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
