package io.kvstream.worker;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Delivery;
import io.kvstream.Broker;
import io.kvstream.Json;
import io.kvstream.command.Command;
import io.kvstream.command.CommandBus;
import io.kvstream.command.CommandOutcome;

/**
 * Consumes the command queue with manual acks and a prefetch window, commits what has arrived as one
 * batch, answers each command's reply queue, and only then acks. A crash before the ack means the broker
 * redelivers, and the command ids recorded in the same transaction make the redelivery a no-op.
 */
public final class CommandConsumer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(CommandConsumer.class.getName());
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(2);

    private final Broker broker;
    private final BatchCommitter committer;
    private final WorkerMetrics metrics;
    private final int batchSize;
    private final BlockingQueue<Incoming> deliveries;
    private final Channel channel;
    private final Thread loop;
    private volatile boolean running = true;
    private volatile String consumerTag;

    public CommandConsumer(Broker broker, BatchCommitter committer, WorkerMetrics metrics, int batchSize)
            throws IOException {
        this.broker = broker;
        this.committer = committer;
        this.metrics = metrics;
        this.batchSize = batchSize;
        // Twice the batch size in flight: one batch commits while the next one arrives. The local queue
        // has room for more than the prefetch window because after a broker recovery the unacked
        // deliveries of the old channel are still queued here while the new channel redelivers them.
        int prefetch = batchSize * 2;
        this.deliveries = new ArrayBlockingQueue<>(prefetch * 4);
        this.channel = broker.openChannel();
        channel.basicQos(prefetch);
        this.loop = Thread.ofVirtual().name("command-consumer").unstarted(this::run);
    }

    public void start() throws IOException {
        loop.start();
        consumerTag = channel.basicConsume(broker.settings().commandQueue(), false,
                                           (tag, delivery) -> deliveries.add(new Incoming(delivery, parse(delivery))),
                                           tag -> { });
    }

    /** A message from the command queue and the commands it carries (one, or a batch from one API process). */
    private record Incoming(Delivery delivery, List<Command> commands) {
    }

    private void run() {
        Duration backoff = Duration.ofMillis(50);
        List<Incoming> batch = new ArrayList<>();
        while (running || !deliveries.isEmpty()) {
            try {
                Incoming first = deliveries.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                int commands = first.commands().size();
                while (commands < batchSize) {
                    Incoming next = deliveries.poll();
                    if (next == null) {
                        break;
                    }
                    batch.add(next);
                    commands += next.commands().size();
                }
                if (process(batch)) {
                    backoff = Duration.ofMillis(50);
                } else {
                    Thread.sleep(backoff);
                    backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "Command batch failed unexpectedly", e);
            } finally {
                batch.clear();
            }
        }
    }

    /** Commits, answers and acks one batch; returns false when the database was unavailable (requeued). */
    private boolean process(List<Incoming> batch) {
        List<Delivery> accepted = new ArrayList<>();
        List<Command> commands = new ArrayList<>();
        for (Incoming incoming : batch) {
            for (Command command : incoming.commands()) {
                accepted.add(incoming.delivery());
                commands.add(command);
            }
        }
        long lastTag = batch.getLast().delivery().getEnvelope().getDeliveryTag();
        try {
            List<CommandOutcome> outcomes = commands.isEmpty() ? List.of() : commitOrIsolate(commands);
            for (int i = 0; i < outcomes.size(); i++) {
                reply(accepted.get(i), outcomes.get(i));
            }
            metrics.batchCommitted(commands.size());
            channel.basicAck(lastTag, true);
            return true;
        } catch (RuntimeException e) {
            if (!isTransient(e)) {
                throw e;
            }
            LOG.log(Level.WARNING, "Database unavailable, " + batch.size() + " commands requeued: " + e.getMessage());
            nack(lastTag);
            return false;
        } catch (IOException e) {
            // The broker went away after commit: redelivery will answer from kv_commands.
            LOG.log(Level.WARNING, "Broker unavailable while acking: " + e.getMessage());
            return false;
        }
    }

    /**
     * A command the database refuses (a data error, not an outage) must not block the queue for ever:
     * the batch is retried one command at a time and the bad one is answered as rejected.
     */
    private List<CommandOutcome> commitOrIsolate(List<Command> commands) {
        try {
            return committer.commit(commands);
        } catch (RuntimeException e) {
            if (isTransient(e)) {
                throw e;
            }
            if (commands.size() == 1) {
                LOG.log(Level.ERROR, "Command " + commands.getFirst().id() + " rejected by the database: "
                                     + e.getMessage());
                return List.of(new CommandOutcome(commands.getFirst().id(), CommandOutcome.REJECTED, 0));
            }
            List<CommandOutcome> outcomes = new ArrayList<>(commands.size());
            for (Command command : commands) {
                outcomes.addAll(commitOrIsolate(List.of(command)));
            }
            return outcomes;
        }
    }

    /**
     * The commands of a message: a JSON object (one command) or an array of them. What no worker can ever apply
     * is dropped (and acked with its batch), not redelivered for ever.
     */
    private static List<Command> parse(Delivery delivery) {
        byte[] body = delivery.getBody();
        Command[] parsed;
        try {
            parsed = Json.startsArray(body) ? Json.read(body, Command[].class) : new Command[] {Json.read(body, Command.class)};
        } catch (IllegalArgumentException e) {
            parsed = new Command[0];
        }
        List<Command> wellFormed = Arrays.stream(parsed).filter(c -> c != null && c.wellFormed()).toList();
        if (wellFormed.isEmpty() || wellFormed.size() != parsed.length) {
            LOG.log(Level.WARNING, "Dropping " + (parsed.length - wellFormed.size()) + " of " + parsed.length
                                   + " commands (malformed) in message " + delivery.getProperties().getMessageId());
        }
        return wellFormed;
    }


    private void reply(Delivery delivery, CommandOutcome outcome) throws IOException {
        String replyTo = delivery.getProperties().getReplyTo();
        if (replyTo == null || replyTo.isBlank() || outcome.applied() && learnsFromEvent(delivery)) {
            return;
        }
        AMQP.BasicProperties props = new AMQP.BasicProperties.Builder()
                .contentType("application/json")
                .correlationId(outcome.command())
                .build();
        channel.basicPublish("", replyTo, props, Json.write(outcome));
    }

    /**
     * The sender asked for no reply to an applied command: its domain event answers it. A redelivered command
     * (its outcome may come from an earlier attempt) is answered anyway: it is rare, and the reply is certain.
     */
    private static boolean learnsFromEvent(Delivery delivery) {
        Map<String, Object> headers = delivery.getProperties().getHeaders();
        return !delivery.getEnvelope().isRedeliver() && headers != null
               && CommandBus.REPLY_UNLESS_APPLIED.equals(String.valueOf(headers.get(CommandBus.REPLY_HEADER)));
    }

    private void nack(long lastTag) {
        try {
            channel.basicNack(lastTag, true, true);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "Nack failed; the broker redelivers unacked commands anyway", e);
        }
    }

    /**
     * Only an error about the data itself (SQL state class 22 data exception, 23 integrity violation, 54 limit
     * exceeded) condemns a command; anything else (connection lost, server shutting down, pool timeout, an
     * unknown failure) is treated as an outage and retried, because rejecting is final and retrying is safe.
     */
    static boolean isTransient(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                if (state.startsWith("22") || state.startsWith("23") || state.startsWith("54")) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Stops taking commands, finishes the batch in hand and what was already delivered, then returns. */
    @Override
    public void close() {
        try {
            if (consumerTag != null && channel.isOpen()) {
                channel.basicCancel(consumerTag);
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "Cancel failed", e);
        }
        running = false;
        try {
            loop.join(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (channel.isOpen()) {
                channel.close();
            }
        } catch (IOException | TimeoutException | RuntimeException e) {
            LOG.log(Level.DEBUG, "Closing channel", e);
        }
    }
}
