package io.kvstream.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;

/**
 * A RabbitMQ cluster on loopback, run by scripts/rabbitmq-cluster.sh in a run directory of its own (so a benchmark's
 * cluster on other ports is not disturbed). {@link #close()} stops every node and deletes the directory.
 */
public final class RabbitMqCluster implements AutoCloseable {
    private static final Path SCRIPT = Path.of("scripts/rabbitmq-cluster.sh").toAbsolutePath();
    private static final Path SERVER = Path.of("/usr/lib/rabbitmq/bin/rabbitmq-server");

    private final List<String> environment;
    private final String uri;

    private RabbitMqCluster(List<String> environment, String uri) {
        this.environment = environment;
        this.uri = uri;
    }

    /** Whether Debian's rabbitmq-server is installed, to run the nodes with. */
    public static boolean available() {
        return Files.isExecutable(SERVER);
    }

    /**
     * Starts {@code nodes} nodes named {@code <name>1@localhost} ..., node N on 127.0.0.1:(port + N) and Erlang
     * distribution port (distPort + N), joined into one cluster. Their logs are kept under
     * target/rabbitmq-cluster-logs.
     */
    public static RabbitMqCluster start(int nodes, String name, int port, int distPort) {
        String run = name + "-" + UUID.randomUUID().toString().substring(0, 8);
        List<String> environment = List.of(
                "RMQ_CLUSTER_DIR=/tmp/kvstream-it-" + run,
                // A failure's story is in the brokers' logs, so they outlive the run (under target/, like test reports).
                "RMQ_CLUSTER_KEEP_LOGS=" + Path.of("target/rabbitmq-cluster-logs", run).toAbsolutePath(),
                "RMQ_CLUSTER_NODES=" + nodes,
                "RMQ_CLUSTER_NAME=" + name,
                "RMQ_CLUSTER_PORT=" + port,
                "RMQ_CLUSTER_DIST_PORT=" + distPort);
        RabbitMqCluster cluster = new RabbitMqCluster(environment, null);
        try {
            List<String> out = cluster.run("start");
            return new RabbitMqCluster(environment, out.getLast());
        } catch (RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    /** kvstream.amqp.uri with every node. */
    public String uri() {
        return uri;
    }

    /**
     * Declares quorum queue {@code queue} (as kvstream declares its command queue) through node 1 and returns the
     * number of the node the cluster made its leader.
     */
    public int declareQuorumQueue(String queue) {
        ConnectionFactory factory = new ConnectionFactory();
        try {
            factory.setUri(uri.substring(0, uri.indexOf(',')) + uri.substring(uri.lastIndexOf('/')));
            try (Connection connection = factory.newConnection("rabbitmq-cluster-test");
                 Channel channel = connection.createChannel()) {
                channel.queueDeclare(queue, true, false, false, Map.of("x-queue-type", "quorum"));
            }
        } catch (Exception e) {
            throw new IllegalStateException("Cannot declare " + queue + " on the cluster", e);
        }
        return leaderOf(queue);
    }

    /** The number of the node leading quorum queue {@code queue}. */
    public int leaderOf(String queue) {
        return Integer.parseInt(run("leader", queue).getLast().trim());
    }

    /** Quorum queue {@code queue}'s leader, members and online members, as one line of rabbitmqctl's. */
    public String membersOf(String queue) {
        return String.join(" ", run("members", queue));
    }

    /** SIGKILL for node {@code node}: the broker process dies at once, as on a crashed machine. */
    public void kill(int node) {
        run("kill", Integer.toString(node));
    }

    @Override
    public void close() {
        run("stop");
    }

    private List<String> run(String... args) {
        ProcessBuilder builder = new ProcessBuilder(concat(args)).redirectError(ProcessBuilder.Redirect.INHERIT);
        environment.forEach(entry -> {
            int eq = entry.indexOf('=');
            builder.environment().put(entry.substring(0, eq), entry.substring(eq + 1));
        });
        try {
            Process process = builder.start();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(5, TimeUnit.MINUTES) || process.exitValue() != 0) {
                process.destroyForcibly();
                throw new IllegalStateException(SCRIPT + " " + String.join(" ", args) + " failed: " + out);
            }
            return out.lines().toList();
        } catch (IOException e) {
            throw new IllegalStateException("Cannot run " + SCRIPT, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted", e);
        }
    }

    private static List<String> concat(String... args) {
        return java.util.stream.Stream.concat(java.util.stream.Stream.of(SCRIPT.toString()), java.util.Arrays.stream(args))
                .toList();
    }
}
