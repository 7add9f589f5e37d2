package io.kvstream.testing;

import io.kvstream.config.Settings;

/** Several kvstream processes of one deployment in the test JVM: one schema and one broker name prefix. */
public record TestDeployment(String schema, String prefix) {
    /** A deployment of its own, under fresh names. */
    public static TestDeployment fresh(String purpose) {
        return new TestDeployment(TestServices.uniqueName(purpose), TestServices.uniqueName(purpose));
    }

    public Settings settings(Settings.Role role) {
        return TestServices.settings(role, schema, prefix);
    }

    /** Starts one more process of this deployment in the given role. */
    public TestNode start(Settings.Role role) {
        return TestNode.start(settings(role));
    }
}
