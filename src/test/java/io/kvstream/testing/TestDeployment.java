package io.kvstream.testing;

import java.time.Duration;

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

    /**
     * Settings whose database connections notice a dead network within seconds, through {@code url} (a proxy's, say):
     * short connect and socket timeouts, keepalives and idle-session timeout.
     */
    public Settings failingFast(Settings.Role role, String url) {
        Settings settings = settings(role);
        Settings.Db db = settings.db();
        Settings.Connections connections = new Settings.Connections(Duration.ofSeconds(2), Duration.ofSeconds(4),
                                                                    Duration.ofSeconds(2), Duration.ofSeconds(3));
        return settings.toBuilder()
                .db(db.withUrl(url, db.username(), db.password()).withConnections(connections))
                .build();
    }

    /** Starts one more process of this deployment in the given role. */
    public TestNode start(Settings.Role role) {
        return TestNode.start(settings(role));
    }
}
