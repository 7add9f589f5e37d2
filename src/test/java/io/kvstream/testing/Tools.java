package io.kvstream.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Tests that need something from outside the JVM (Chromium, nginx, kubectl, the machine's PostgreSQL and RabbitMQ)
 * skip without it on a developer's machine, but fail under CI ({@code CI=true}), where .ci/run installs or starts
 * all of them: a missing tool there must not pass as a skipped test.
 */
public final class Tools {
    private Tools() {
    }

    /** Continues when {@code present}; otherwise skips the test, or fails it under CI, saying what is missing. */
    public static void require(boolean present, String what) {
        if (present) {
            return;
        }
        if (ci()) {
            fail("CI=true and this test needs " + what + ": .ci/run must install or start it");
        }
        assumeTrue(false, "needs " + what);
    }

    static boolean ci() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }
}
