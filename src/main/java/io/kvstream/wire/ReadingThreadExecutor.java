package io.kvstream.wire;

import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Runs the broker client's consumer dispatch on the thread that read the delivery, the connection's reading thread,
 * instead of handing each delivery to another thread: at a thousand writes a second every process receives a
 * thousand event batches, and each hand-off is a thread woken up (bench/results/ab/latency-inline-dispatch.md).
 * <p>
 * The price is a rule for every consumer in kvstream: it must not wait, since the confirms, returns and every
 * other delivery of the connection wait behind it, and above all it must not call the broker and wait for the answer
 * (nobody would read it). The command receiver queues, the reply, presence and stream handlers complete futures or
 * queue into bounded per-client queues, and the event subscriber's sequencer hands anything that needs the database
 * to a thread of its own ({@code EventSequencer#receive}).
 */
final class ReadingThreadExecutor extends AbstractExecutorService {
    private volatile boolean shutdown;

    @Override
    public void execute(Runnable command) {
        command.run();
    }

    @Override
    public void shutdown() {
        shutdown = true;
    }

    @Override
    public List<Runnable> shutdownNow() {
        shutdown = true;
        return List.of();
    }

    @Override
    public boolean isShutdown() {
        return shutdown;
    }

    @Override
    public boolean isTerminated() {
        return shutdown;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
        return shutdown;
    }
}
