package io.kvstream.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** RabbitMQ's command line tools (rabbitmqctl, rabbitmq-queues) on the machine's broker, for tests that need them. */
public final class RabbitTools {
    private RabbitTools() {
    }

    /** {@code rabbitmqctl -q ARGS}; what it printed. Fails the test if it fails. */
    public static String rabbitmqctl(String... arguments) {
        return run("rabbitmqctl", arguments);
    }

    /** {@code TOOL -q ARGS} of one of RabbitMQ's tools; what it printed. Fails the test if it fails. */
    public static String run(String tool, String... arguments) {
        List<String> command = new ArrayList<>(List.of(tool, "-q"));
        command.addAll(List.of(arguments));
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
                process.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " failed: " + output);
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
